"""Page tokens: an opaque, scoped keyset position. Pure.

A token is URL-safe base64 of a small JSON object: the position (for example
the id of the last item returned) and a fingerprint of the request's filters.
A token presented with other filters, or one the server did not mint, is
INVALID_ARGUMENT naming ``page_token``. Positions are values compared in a
query, never query fragments: every value is checked against the id alphabet
or an integer range before use, so a token cannot smuggle an operator into a
MongoDB filter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Final

from guildhall_kit.errors import InvalidArgument

_ID: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
FIELD: Final = "page_token"


def _fingerprint(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:16]


def encode(scope: str, position: dict[str, str | int]) -> str:
    """A token for ``position`` within the listing described by ``scope``."""
    raw = json.dumps({"s": _fingerprint(scope), "p": position}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str, scope: str) -> dict[str, str | int]:
    """The position in ``token``; {} for the empty token (the first page).

    String values are ids (the contracts' alphabet), int values are 0..10**9.

    Raises:
        InvalidArgument: naming ``page_token`` when it is malformed, was minted for
            other filters, or holds a value of the wrong shape.
    """
    if not token:
        return {}
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidArgument(FIELD, "not a page token returned by this call") from None
    if not isinstance(data, dict) or data.get("s") != _fingerprint(scope):
        raise InvalidArgument(FIELD, "the page token belongs to another listing or filter")
    position = data.get("p")
    if not isinstance(position, dict):
        raise InvalidArgument(FIELD, "not a page token returned by this call")
    clean: dict[str, str | int] = {}
    for key, value in position.items():
        if isinstance(value, bool):
            raise InvalidArgument(FIELD, "not a page token returned by this call")
        is_id = isinstance(value, str) and _ID.match(value) is not None
        is_count = isinstance(value, int) and 0 <= value <= 10**9
        if not (is_id or is_count):
            raise InvalidArgument(FIELD, "not a page token returned by this call")
        clean[str(key)] = value
    return clean


def position_id(position: dict[str, str | int], key: str = "after") -> str | None:
    """The id stored under ``key``, or None (first page).

    Raises:
        InvalidArgument: the value under ``key`` is not an id.
    """
    value = position.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgument(FIELD, "not a page token returned by this call")
    return value


def position_int(position: dict[str, str | int], key: str) -> int:
    """The int under ``key`` (0 when absent)."""
    value = position.get(key, 0)
    if not isinstance(value, int):
        raise InvalidArgument(FIELD, "not a page token returned by this call")
    return value
