"""The round-trip tally: counting in a request's scope, encoding, merging callees'."""

from __future__ import annotations

import asyncio

from guildhall_kit import roundtrips
from guildhall_kit.roundtrips import Tally


def test_counts_land_in_the_running_request_only() -> None:
    roundtrips.count("db")  # outside any request: dropped, not an error
    with roundtrips.request_scope("op") as tally:
        roundtrips.count("db")
        roundtrips.count("db")
        roundtrips.count("cache", 3)
        roundtrips.count("rpc")
        roundtrips.count("carrier-pigeon")
    assert (tally.db, tally.cache, tally.rpc) == (2, 3, 1)
    assert roundtrips.current() is None


def test_concurrent_requests_keep_their_own_tallies() -> None:
    async def request(n: int) -> Tally:
        with roundtrips.request_scope("op") as tally:
            for _ in range(n):
                roundtrips.count("db")
                await asyncio.sleep(0)
        return tally

    async def both() -> list[Tally]:
        return list(await asyncio.gather(request(3), request(5)))

    first, second = asyncio.run(both())
    assert (first.db, second.db) == (3, 5)


def test_encode_and_merge_round_trip_and_ignore_garbage() -> None:
    tally = Tally(db=4, cache=1, rpc=2)
    assert tally.encode() == "db=4,cache=1,rpc=2"
    merged = Tally.decode(tally.encode())
    merged.merge("db=1,rpc=x,cache=-2,nonsense,rpc=99999999,cache=2")
    assert (merged.db, merged.cache, merged.rpc) == (5, 3, 2)


def test_a_callees_trailer_is_added_to_the_callers_tally() -> None:
    with roundtrips.request_scope("op") as tally:
        roundtrips.merge_trailer([("other", "x"), (roundtrips.TRAILER, b"db=3,cache=0,rpc=1")])
    assert (tally.db, tally.rpc) == (3, 1)
