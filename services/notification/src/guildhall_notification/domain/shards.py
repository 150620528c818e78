"""Which shard (partition of the notification topic) a person's inbox is written from.

Every notification of one person is written by the consumer that owns the
person's partition, in order, so the person's notification ids only grow in
the order they become visible: that is what makes the live stream resumable
without gaps. The shard is Kafka's default partition for the person id as key
(murmur2 of the UTF-8 bytes, as the Java client and aiokafka compute it), so a
message keyed by any one recipient of a shard lands on that shard.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Final

_M: Final = 0x5BD1E995
_MASK: Final = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash (seed 0x9747b28c), as an unsigned 32-bit value."""
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK
    full = length - length % 4
    for i in range(0, full, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = (h * _M) & _MASK
        h ^= k
    rest = length % 4
    if rest >= 3:
        h ^= data[full + 2] << 16
    if rest >= 2:
        h ^= data[full + 1] << 8
    if rest >= 1:
        h ^= data[full]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def shard_of(person_id: str, shards: int) -> int:
    """The partition Kafka's default partitioner picks for key ``person_id``."""
    return (murmur2(person_id.encode("utf-8")) & 0x7FFFFFFF) % shards


def by_shard(person_ids: Iterable[str], shards: int, *, chunk: int) -> list[list[str]]:
    """``person_ids`` grouped by shard, each group cut into lists of at most ``chunk``."""
    groups: dict[int, list[str]] = defaultdict(list)
    for person in person_ids:
        groups[shard_of(person, shards)].append(person)
    out: list[list[str]] = []
    for shard in sorted(groups):
        members = groups[shard]
        out.extend(members[i : i + chunk] for i in range(0, len(members), chunk))
    return out
