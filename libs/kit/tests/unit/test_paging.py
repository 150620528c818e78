"""Page tokens: round trip, and every token not minted for this listing is refused."""

from __future__ import annotations

import base64
import json

import pytest

from guildhall_kit.errors import InvalidArgument
from guildhall_kit.paging import (
    MAX_PAGE_SIZE,
    decode_token,
    encode_token,
    key_int,
    key_str,
    page_size,
)


def test_page_size_defaults_and_caps() -> None:
    assert page_size(0) == 20
    assert page_size(-3) == 20
    assert page_size(7) == 7
    assert page_size(10_000) == MAX_PAGE_SIZE
    assert page_size(0, default=5, maximum=8) == 5
    assert page_size(9, default=5, maximum=8) == 8


def test_round_trip_with_scope() -> None:
    token = encode_token("members", ["01jabc", 42], scope=["c1", "active"])
    key = decode_token(token, "members", (str, int), scope=["c1", "active"])
    assert key == ["01jabc", 42]
    assert key is not None
    assert key_str(key, 0) == "01jabc"
    assert key_int(key, 1) == 42


def test_empty_token_is_the_first_page() -> None:
    assert decode_token("", "members", (str,)) is None


@pytest.mark.parametrize(
    ("listing", "shape", "scope"),
    [
        ("other-listing", (str, int), ["c1", "active"]),
        ("members", (str, int), ["c2", "active"]),
        ("members", (str, str), ["c1", "active"]),
        ("members", (str,), ["c1", "active"]),
    ],
)
def test_token_of_another_listing_scope_or_shape_refused(
    listing: str, shape: tuple[type[str] | type[int], ...], scope: list[str]
) -> None:
    token = encode_token("members", ["01jabc", 42], scope=["c1", "active"])
    with pytest.raises(InvalidArgument) as caught:
        decode_token(token, listing, shape, scope=scope)
    assert caught.value.field == "page_token"


@pytest.mark.parametrize(
    "token",
    [
        "%%%",
        "bm90IGpzb24",  # "not json"
        base64.urlsafe_b64encode(b"[1,2]").decode(),
        base64.urlsafe_b64encode(
            json.dumps({"l": "members", "q": "x", "k": [{"$gt": ""}]}).encode()
        ).decode(),
        "A" * 2000,
    ],
)
def test_garbage_and_operator_smuggling_refused(token: str) -> None:
    with pytest.raises(InvalidArgument, match="page_token"):
        decode_token(token, "members", (str,))


def test_boolean_is_not_an_int_key() -> None:
    with pytest.raises(ValueError, match="strings and integers"):
        encode_token("x", [True])
    token = encode_token("x", [1])
    body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    body["k"] = [True]
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")
    with pytest.raises(InvalidArgument):
        decode_token(forged, "x", (int,))
