"""The audit trail: appending to a chain so that concurrent writers keep one chain."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from guildhall_gateway.domain.audit import (
    GENESIS,
    AuditEntry,
    AuditRecord,
    ChainFault,
    verify_sequence,
)


class AuditStore(Protocol):
    """Where records live (adapters/repository.py). Records are never updated or deleted."""

    async def head(self, chain: str) -> tuple[int, str]:
        """(seq, hash) of the last record the chain's head knows; (0, GENESIS) for none."""
        ...

    async def get(self, chain: str, seq: int) -> AuditRecord | None:
        """Record ``seq`` of ``chain``, or None."""
        ...

    async def insert(self, record: AuditRecord) -> bool:
        """Store ``record`` (and its event) unless that (chain, seq) is taken; False if taken."""
        ...

    async def advance(self, chain: str, seq: int, hash_: str) -> None:
        """Move the head forward to ``seq`` (never backwards)."""
        ...

    async def chains(self) -> list[tuple[str, int]]:
        """Every chain and its head's seq."""
        ...

    async def records(self, chain: str, after_seq: int, limit: int) -> list[AuditRecord]:
        """Records of ``chain`` after ``after_seq``, in order, at most ``limit``."""
        ...


class AuditTrail:
    """Appends entries to their chains.

    Within a process, appends to one chain are serialised by a lock; across
    processes (replicas), the store's unique (chain, seq) key decides: a writer
    that loses the race re-reads and takes the next number, so a chain never
    forks and never skips a number.
    """

    MAX_ATTEMPTS = 100

    def __init__(self, store: AuditStore) -> None:
        self._store = store
        self._locks: dict[str, asyncio.Lock] = {}

    async def append(self, entry: AuditEntry, chain: str) -> AuditRecord:
        """Place ``entry`` at the end of ``chain``; returns the sealed record.

        Raises:
            RuntimeError: the chain kept moving for MAX_ATTEMPTS tries.
            pymongo.errors.PyMongoError: the store failed.
        """
        lock = self._locks.setdefault(chain, asyncio.Lock())
        async with lock:
            seq, last_hash = await self._store.head(chain)
            for _ in range(self.MAX_ATTEMPTS):
                record = AuditRecord(entry, chain, seq + 1, last_hash or GENESIS).sealed()
                if await self._store.insert(record):
                    await self._store.advance(chain, record.seq, record.hash)
                    return record
                # Taken: another writer won, or the head lags after a crash. Catch up.
                found = await self._store.get(chain, seq + 1)
                if found is not None:
                    seq, last_hash = found.seq, found.hash
            raise RuntimeError(f"audit chain {chain} kept moving; giving up")

    async def verify(self, chain: str | None = None, *, batch: int = 500) -> list[ChainFault]:
        """Every fault of one chain, or of every chain."""
        faults: list[ChainFault] = []
        chains = await self._store.chains()
        for name, head_seq in chains:
            if chain is not None and name != chain:
                continue
            records: list[AuditRecord] = []
            after = 0
            while True:
                page: Sequence[AuditRecord] = await self._store.records(name, after, batch)
                records.extend(page)
                if len(page) < batch:
                    break
                after = page[-1].seq
            faults.extend(verify_sequence(name, records, head_seq))
        return faults
