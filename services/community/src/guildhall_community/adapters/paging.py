"""Opaque page tokens: the position after the last item of a page, per listing.

A token is base64url of a small JSON object naming its listing, so a token
minted by one listing is refused by another. Tokens are not secret: one that
is tampered with only moves the start of a page, and every item on a page
still passes the access funnel.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from guildhall_kit.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def page_size(requested: int) -> int:
    """The page size to serve: the default for 0, else ``requested`` (validated by the contract)."""
    if requested <= 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)


def encode(listing: str, *position: Any) -> str:
    """The token that resumes ``listing`` after ``position``."""
    raw = json.dumps({"l": listing, "p": list(position)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(listing: str, token: str, arity: int) -> list[Any] | None:
    """The position a token of ``listing`` carries; None for the empty token (first page).

    Raises:
        InvalidArgument: ``page_token``, when the token was not minted by this listing.
    """
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgument("page_token", "not a token returned by this call") from None
    if not isinstance(data, dict):
        raise InvalidArgument("page_token", "not a token returned by this call")
    position = data.get("p")
    if data.get("l") != listing or not isinstance(position, list) or len(position) != arity:
        raise InvalidArgument("page_token", "not a token returned by this call")
    return position
