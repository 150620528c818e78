"""Page sizes and page tokens: the one paging shape of every listing (ADR 0003).

A page token is opaque to callers: URL-safe base64 of a small JSON object with
the listing's name, a fingerprint of the query's filters, and the keyset
position after the last item returned (the sort key of that item). A token
handed to another listing or to the same listing with other filters, a
tampered token, or one whose key has the wrong shape is INVALID_ARGUMENT on
``page_token``.

Tokens are not signed: a well-formed token only positions the caller inside a
listing whose every item still passes the access rules. Key values are
strings and integers only (checked against the declared shape), and they are
used as compared values in a filter, never as field names or operators, so a
token cannot smuggle an operator into a MongoDB query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from typing import Final

from guildhall_kit.errors import InvalidArgument

DEFAULT_PAGE_SIZE: Final = 20
MAX_PAGE_SIZE: Final = 100
MAX_TOKEN_CHARS: Final = 1024
"""The contracts' limit on ``page_token``; tokens minted here stay below it."""
FIELD: Final = "page_token"

KeyValue = str | int
Key = Sequence[KeyValue]
Shape = Sequence[type[str] | type[int]]


def page_size(
    requested: int, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE
) -> int:
    """The page size to serve: ``default`` for 0 or less, else ``requested`` up to ``maximum``."""
    if requested <= 0:
        return default
    return min(requested, maximum)


def _fingerprint(scope: Sequence[str]) -> str:
    return hashlib.sha256("\x1f".join(scope).encode("utf-8")).hexdigest()[:16]


def encode_token(listing: str, key: Key, *, scope: Sequence[str] = ()) -> str:
    """The token that resumes ``listing`` (with filters ``scope``) after the item keyed ``key``.

    Raises:
        ValueError: a key value is neither str nor int, or the token would be
            longer than the contracts allow (keys are bounded far below that).
    """
    for value in key:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError(f"page keys are strings and integers, not {type(value).__name__}")
    body = json.dumps(
        {"l": listing, "q": _fingerprint(scope), "k": list(key)},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    token = base64.urlsafe_b64encode(body.encode("utf-8")).decode("ascii").rstrip("=")
    if len(token) > MAX_TOKEN_CHARS:
        raise ValueError("page token too long")
    return token


def decode_token(
    token: str, listing: str, shape: Shape, *, scope: Sequence[str] = ()
) -> list[KeyValue] | None:
    """The key in ``token``; None for the empty token (the first page).

    ``shape`` gives the type of each key value, in order.

    Raises:
        InvalidArgument: on ``page_token``, for anything but a token minted by
            :func:`encode_token` for this listing and these filters.
    """
    if not token:
        return None
    bad = InvalidArgument(FIELD, "not a page token returned by this call with these filters")
    if len(token) > MAX_TOKEN_CHARS:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(body, dict) or body.get("l") != listing:
        raise bad
    if body.get("q") != _fingerprint(scope):
        raise bad
    key = body.get("k")
    if not isinstance(key, list) or len(key) != len(shape):
        raise bad
    for value, kind in zip(key, shape, strict=True):
        if type(value) is not kind:
            raise bad
    return list(key)


def key_str(key: Sequence[KeyValue], index: int) -> str:
    """``key[index]``, a string (the shape given to :func:`decode_token` guarantees it)."""
    value = key[index]
    if not isinstance(value, str):
        raise InvalidArgument(FIELD, "not a page token returned by this call")
    return value


def key_int(key: Sequence[KeyValue], index: int) -> int:
    """``key[index]``, an int (the shape given to :func:`decode_token` guarantees it)."""
    value = key[index]
    if not isinstance(value, int):
        raise InvalidArgument(FIELD, "not a page token returned by this call")
    return value
