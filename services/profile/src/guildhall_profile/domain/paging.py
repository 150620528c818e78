"""Page sizes and page tokens (the contracts' paging shape, ADR 0003).

A page token is opaque to callers: URL-safe base64 of a small JSON object
holding the sort key of the last item returned, the kind of list it belongs
to, and a fingerprint of the query. A token handed to another query, or
altered into garbage, is INVALID_ARGUMENT on ``page_token``; a well-formed
token only ever positions the caller inside a list they may read anyway,
so tokens need no signature.
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
"""The contract's limit on page_token; tokens this service issues stay below it."""

Key = Sequence[str | int]


def page_size(requested: int) -> int:
    """The page size to use: the default for 0, else ``requested`` (at most 100)."""
    if requested <= 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)


def _fingerprint(query: Sequence[str]) -> str:
    return hashlib.sha256("\x1f".join(query).encode("utf-8")).hexdigest()[:16]


def encode_token(list_name: str, query: Sequence[str], key: Key) -> str:
    """The token continuing ``list_name`` for ``query`` after the item whose sort key is ``key``.

    Raises:
        ValueError: the token would exceed the contract's 1024 characters (the
            callers' keys are bounded far below that; this guards the bound).
    """
    body = json.dumps(
        {"l": list_name, "q": _fingerprint(query), "k": list(key)},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    token = base64.urlsafe_b64encode(body.encode("utf-8")).decode("ascii").rstrip("=")
    if len(token) > MAX_TOKEN_CHARS:
        raise ValueError("page token too long")
    return token


def decode_token(
    token: str, list_name: str, query: Sequence[str], shape: Sequence[type[str] | type[int]]
) -> list[str | int]:
    """The sort key in ``token``, checked against the list, the query and the key's ``shape``.

    Raises:
        InvalidArgument: on ``page_token``, for anything but a token this
            service issued for this very list and query.
    """
    bad = InvalidArgument("page_token", "is not a page token of this query")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(body, dict) or body.get("l") != list_name:
        raise bad
    if body.get("q") != _fingerprint(query):
        raise bad
    key = body.get("k")
    if not isinstance(key, list) or len(key) != len(shape):
        raise bad
    for value, kind in zip(key, shape, strict=True):
        if type(value) is not kind:
            raise bad
    return list(key)
