"""One-off migration of a profile database from the directory lists to ordinary indexes.

Run once, with the service's own settings, after the new version is rolled out:
``python -m guildhall_profile.adapters.migration``. It

1. creates the declared indexes (as every start of the service does);
2. brings every person's expert directory rows to their stored state
   (:meth:`~guildhall_profile.adapters.repository.ProfileRepository.converge_person`):
   a database from the lists era has none, and one that still has the
   ``experts`` collection of the version before the lists has rows that
   stopped following the people then; stale ones become tombstones;
3. drops ``lists`` and ``list_buckets``, the retired hand-made index.

Every step is idempotent and safe beside running replicas (rows only move to
newer person versions), so it can be run again after an interrupted run.
Prints what it did; exits 2 on a configuration error.
"""

from __future__ import annotations

import asyncio
import sys
import time

from guildhall_kit.bus import load_registry, source_for
from guildhall_kit.mongo import ensure_indexes, make_client
from guildhall_kit.outbox import Outbox
from guildhall_kit.settings import ConfigError, load_settings
from guildhall_profile.adapters.repository import ProfileRepository, indexes
from guildhall_profile.settings import ProfileSettings

RETIRED: tuple[str, ...] = ("lists", "list_buckets")
"""Collections of the bucketed directory lists (ADR 0011 before this design)."""


async def migrate(settings: ProfileSettings) -> dict[str, int]:
    """Run the migration against ``settings``' database; what it did, counted."""
    client = make_client(settings.mongo_uri, app_name="guildhall-profile-migration")
    try:
        db = client[settings.database_name]
        await ensure_indexes(db, indexes(), timeout_s=3600)
        # Writes no person or org, so its outbox is never used; the repository wants one.
        outbox = Outbox(load_registry(), topic="guildhall.profile.v1", source=source_for("profile"))
        repo = ProfileRepository(db, outbox)
        people = rows = 0
        async for person in repo.all_people():
            people += 1
            rows += await repo.converge_person(person)
        existing = set(await db.list_collection_names())
        dropped = 0
        for name in RETIRED:
            if name in existing:
                await db.drop_collection(name)
                dropped += 1
        return {"people": people, "rows_written": rows, "collections_dropped": dropped}
    finally:
        await client.close()


def main() -> int:
    try:
        settings = load_settings(ProfileSettings)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    started = time.perf_counter()
    done = asyncio.run(migrate(settings))
    print(
        f"profile migration: {done['people']:,} people, {done['rows_written']:,} directory rows "
        f"written, {done['collections_dropped']} retired collections dropped "
        f"in {time.perf_counter() - started:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
