"""The profile service's facts this service needs: organisations and people.

Consumes ``guildhall.profile.v1`` into two read models of the service's own
database, each effect applied once per event id (``apply_once``):

- ``orgs``: ``kind`` (``home`` / ``vendor`` / ``supplier`` / ``customer``),
  ``suspended``, and ``version`` — the profile service's version of the org
  after the last event applied, so a cache can compare it
  (docs/access-model.md, "Revocation"). Every decision for a partner user
  reads it; from the moment OrgSuspended is applied, that org's users are
  refused everywhere.
- ``people``: ``kind`` (``employee`` / ``partner``) and ``org_id``, so an
  invitation can tell an employee from a partner user.

Events for one org or person share a key, so they arrive in order; an event
whose version is not newer than the stored one is skipped all the same, so a
replayed older fact never undoes a newer one.
"""

from __future__ import annotations

from typing import Any, Final

from guildhall.profile.v1 import events_pb2 as pev
from guildhall.profile.v1 import profile_pb2 as ppb
from guildhall_kit.bus import Event, apply_once
from guildhall_kit.logging import get_logger

from .repository import Repository

_log = get_logger(__name__)

TOPIC: Final = "guildhall.profile.v1"
GROUP: Final = "community-profile-facts"

_ORG_KINDS: Final = {
    ppb.ORG_KIND_HOME: "home",
    ppb.ORG_KIND_VENDOR: "vendor",
    ppb.ORG_KIND_SUPPLIER: "supplier",
    ppb.ORG_KIND_CUSTOMER: "customer",
}
_PERSON_KINDS: Final = {
    ppb.PERSON_KIND_EMPLOYEE: "employee",
    ppb.PERSON_KIND_PARTNER_USER: "partner",
}


def _name(message: type[Any]) -> str:
    return str(message.DESCRIPTOR.full_name)


class ProfileFacts:
    """The consumer handler: one profile event in, its effect stored once."""

    def __init__(self, repository: Repository) -> None:
        self._repo = repository

    async def handle(self, event: Event) -> None:
        """Store the effect of ``event``; other profile events are not this service's concern.

        Raises:
            MalformedEvent: the payload does not parse (the consumer dead-letters it).
            pymongo.errors.PyMongoError: the database failed (the consumer retries).
        """
        if event.type == _name(pev.OrgRegistered):
            org = event.parse(pev.OrgRegistered).org
            await self._org(
                event,
                org.org_id,
                org.version,
                {
                    "kind": _ORG_KINDS.get(org.kind, "unknown"),
                    "suspended": org.state == ppb.ORG_STATE_SUSPENDED,
                },
            )
        elif event.type == _name(pev.OrgSuspended):
            suspended = event.parse(pev.OrgSuspended)
            await self._org(event, suspended.org_id, suspended.version, {"suspended": True})
        elif event.type == _name(pev.OrgReinstated):
            reinstated = event.parse(pev.OrgReinstated)
            await self._org(event, reinstated.org_id, reinstated.version, {"suspended": False})
        elif event.type == _name(pev.PersonJoined):
            person = event.parse(pev.PersonJoined).person
            kind = _PERSON_KINDS.get(person.kind)
            if kind is None or not person.person_id:
                _log.warning("person without a kind or id ignored", event_id=event.id)
                return
            await apply_once(
                self._repo.w.people,
                person.person_id,
                {"$set": {"kind": kind, "org_id": person.org_id}},
                event_id=event.id,
                upsert=True,
            )

    async def _org(self, event: Event, org_id: str, version: int, fields: dict[str, Any]) -> None:
        if not org_id:
            _log.warning("org event without an org id ignored", event_id=event.id)
            return
        stored = await self._repo.r.orgs.find_one({"_id": org_id}, projection={"version": 1})
        if stored is not None and version and int(stored.get("version") or 0) >= version:
            return
        await apply_once(
            self._repo.w.orgs,
            org_id,
            {"$set": {**fields, "version": version}},
            event_id=event.id,
            upsert=True,
        )
