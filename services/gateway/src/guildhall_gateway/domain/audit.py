"""The audit trail of partner access: records, their hash chain, and its verification. Pure.

Every partner request becomes one :class:`AuditRecord`. Records are chained:
each carries the hash of the one before it in the same chain and its own hash
over its content and that link, so changing any record breaks its own hash
and removing one breaks the link of the next (or, for the last, the chain's
head count). A chain is the trail of one pinhole (``pinhole:<id>``) or, for a
request that concerned no single pinhole of the partner, of the partner org
(``org:<id>``). Sequence numbers start at 1 and have no gaps.

The hash is SHA-256 over a canonical JSON encoding (sorted keys, no spaces,
UTF-8) of every field but ``hash`` itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Final

GENESIS: Final = "0" * 64
"""The ``prev_hash`` of a chain's first record."""


def chain_of(pinhole_id: str | None, org_id: str) -> str:
    """The chain a request is recorded in: its pinhole's, else its org's."""
    return f"pinhole:{pinhole_id}" if pinhole_id else f"org:{org_id}"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What is known of a partner request when it is answered (before chaining)."""

    audit_id: str
    person_id: str
    org_id: str
    client_id: str
    method: str
    route: str
    object_ids: tuple[str, ...]
    pinhole_id: str
    outcome: str
    http_status: int
    bytes_returned: int
    request_id: str
    trace_id: str
    client_address: str
    received_at: datetime
    duration_ms: int


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """An entry placed in its chain."""

    entry: AuditEntry
    chain: str
    seq: int
    prev_hash: str
    hash: str = field(default="")

    def fields(self) -> dict[str, Any]:
        """Every field of the record, flat (``received_at`` stays a datetime)."""
        data = asdict(self.entry)
        data["object_ids"] = list(self.entry.object_ids)
        data.update(chain=self.chain, seq=self.seq, prev_hash=self.prev_hash, hash=self.hash)
        return data

    def content(self) -> dict[str, Any]:
        """Every hashed field, JSON-ready."""
        data = self.fields()
        del data["hash"]
        data["received_at"] = self.entry.received_at.isoformat(timespec="milliseconds")
        return data

    def computed_hash(self) -> str:
        canonical = json.dumps(
            self.content(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def sealed(self) -> AuditRecord:
        """This record with its hash set."""
        return replace(self, hash=self.computed_hash())


def link(entry: AuditEntry, chain: str, previous: AuditRecord | None) -> AuditRecord:
    """``entry`` as the next record of ``chain`` after ``previous`` (None: the first)."""
    if previous is None:
        return AuditRecord(entry, chain, 1, GENESIS).sealed()
    return AuditRecord(entry, chain, previous.seq + 1, previous.hash).sealed()


@dataclass(frozen=True, slots=True)
class ChainFault:
    """One thing wrong with a chain."""

    chain: str
    seq: int
    problem: str


def verify_chain(
    chain: str, records: Iterable[AuditRecord], *, expected_last: int | None = None
) -> list[ChainFault]:
    """Every fault of ``chain`` given its records in sequence order.

    ``expected_last`` is the sequence number the chain's head says was
    written last: records missing at the end are caught by it.
    """
    faults: list[ChainFault] = []
    previous: AuditRecord | None = None
    for record in records:
        want_seq = 1 if previous is None else previous.seq + 1
        want_prev = GENESIS if previous is None else previous.hash
        if record.chain != chain:
            faults.append(ChainFault(chain, record.seq, f"belongs to chain {record.chain}"))
        if record.seq != want_seq:
            faults.append(
                ChainFault(chain, want_seq, f"record {want_seq} missing (next is {record.seq})")
            )
        elif record.prev_hash != want_prev:
            faults.append(ChainFault(chain, record.seq, "prev_hash does not match record before"))
        if record.computed_hash() != record.hash:
            faults.append(ChainFault(chain, record.seq, "content does not match its hash"))
        previous = record
    last = previous.seq if previous is not None else 0
    if expected_last is not None and expected_last > last:
        faults.append(
            ChainFault(chain, last + 1, f"records {last + 1}..{expected_last} missing at the end")
        )
    return faults


def verify_sequence(chain: str, records: Sequence[AuditRecord], head_seq: int) -> list[ChainFault]:
    """:func:`verify_chain` with the head's count (the usual call)."""
    return verify_chain(chain, records, expected_last=head_seq)
