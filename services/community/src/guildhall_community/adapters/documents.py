"""The stored shape of the community service's state: domain values <-> BSON documents.

Pure functions, no I/O. One collection per aggregate, one document per
aggregate, so a state change and its outbox events are one single-document
write (docs/adr/0009-community-storage-and-revocation.md):

``communities``   ``_id`` = community id. The domain fields, ``staff`` as a list
                  of ``{person_id, role}``, ``name_key`` (the case-folded name,
                  for ordering and prefix search) and ``member_count``, a
                  counter the repository keeps with ``$inc`` and that the
                  domain never reads.
``memberships``   ``_id`` = ``<community id>:<person id>`` (see :func:`membership_id`),
                  so the membership a decision needs is one ``_id`` read.
``pinholes``      ``_id`` = pinhole id. ``grants`` as a list ordered by org id and
                  ``grant_orgs``, the granted org ids, for the "pinholes granted
                  to this org" index.

Ids are at most 64 characters of ``[a-z0-9_-]``, so ``:`` cannot occur in
them and a membership id is unambiguous. Times are stored as BSON dates
(whole milliseconds; the service clock is truncated to them, so a round trip
is lossless).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from guildhall_community.domain import (
    CloseReason,
    Community,
    CommunityState,
    Grant,
    GrantLevel,
    JoinRequest,
    JoinRequestState,
    Membership,
    MembershipStatus,
    Pinhole,
    PinholeState,
    Role,
    Visibility,
)
from guildhall_kit.mongo import Document

COMMUNITIES = "communities"
MEMBERSHIPS = "memberships"
PINHOLES = "pinholes"
COMMUNITY_NAMES = "community_names"
"""``_id`` = case-folded name of an active community -> ``community_id``: the name claim."""
MEMBER_INDEX = "member_index"
"""``_id`` = person id -> ``communities``: every community the person may belong to."""
PINHOLE_INDEX = "pinhole_index"
"""``_id`` = ``community:<id>`` or ``org:<id>`` -> ``pinholes``: every pinhole of that
community, every pinhole that ever granted that org (a superset; see the repository)."""
NAME_DIRECTORY = "name_directory"
"""``_id`` = ``b:<first two characters of the name key>`` -> ``entries``: ``"<name key>\x00<id>"``
of every community named so (a superset), and ``_id`` = ``index`` -> ``buckets``."""
ROSTER = "roster"
"""``_id`` = ``<community id>:<YYYYMMDD>`` -> ``members``: ``"<joined ms, 13 digits>|<person>"``
of the people who joined the community that UTC day (a superset; see the repository)."""
ROSTER_DAYS = "roster_days"
"""``_id`` = community id -> ``days``: every ``YYYYMMDD`` with a ``roster`` document."""
ORGS = "orgs"
"""Read model of profile events: ``_id`` = org id -> ``kind``, ``suspended``, ``version``."""
PEOPLE = "people"
"""Read model of profile events: ``_id`` = person id -> ``kind``, ``org_id``."""

OUTBOX_COLLECTIONS = (COMMUNITIES, MEMBERSHIPS, PINHOLES)
"""The collections whose documents carry outbox entries."""


NAME_INDEX_ID = "index"
NAME_BUCKET_CHARS = 2
"""Name-key characters that pick a directory bucket (a few hundred entries each, typically)."""


def name_entry(community_id: str, name: str) -> tuple[str, str]:
    """The ``name_directory`` bucket and entry of a community called ``name``.

    Entries sort as strings in directory order: by name key, then id (``\x00``
    sorts below every character a name may contain).
    """
    key = name_key(name)
    return f"b:{key[:NAME_BUCKET_CHARS]}", f"{key}\x00{community_id}"


def roster_entry(joined_at: datetime, person_id: str) -> tuple[str, str]:
    """The roster day and entry of a membership that began at ``joined_at``."""
    ms = int(joined_at.timestamp() * 1000)
    day = datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y%m%d")
    return day, f"{ms:013d}|{person_id}"


def roster_key(community_id: str, day: str) -> str:
    """The ``roster`` document of one community and day."""
    return f"{community_id}:{day}"


def community_pinholes_key(community_id: str) -> str:
    """The ``pinhole_index`` entry listing a community's pinholes."""
    return f"community:{community_id}"


def org_pinholes_key(org_id: str) -> str:
    """The ``pinhole_index`` entry listing the pinholes that granted an org."""
    return f"org:{org_id}"


def pinhole_index_keys(community_id: str, org_ids: Iterable[str]) -> list[str]:
    """Every ``pinhole_index`` entry a pinhole of ``community_id`` granting ``org_ids`` is in."""
    return [community_pinholes_key(community_id), *sorted({org_pinholes_key(o) for o in org_ids})]


def membership_id(community_id: str, person_id: str) -> str:
    """The ``_id`` of a person's membership document in a community."""
    return f"{community_id}:{person_id}"


def name_key(name: str) -> str:
    """The form in which community names are unique and ordered (case-insensitive)."""
    return name.casefold()


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _req_utc(value: Any) -> datetime:
    result = _utc(value)
    if result is None:
        raise TypeError("expected a datetime, got None")
    return result


# ----------------------------------------------------------------- communities


def community_fields(community: Community) -> Document:
    """Every domain field of ``community``, as ``$set`` (or insert) fields."""
    return {
        "name": community.name,
        "name_key": name_key(community.name),
        "description": community.description,
        "visibility": community.visibility.value,
        "state": community.state.value,
        "tags": list(community.tags),
        "staff": [
            {"person_id": person, "role": role.value}
            for person, role in sorted(community.staff.items())
        ],
        "created_by": community.created_by,
        "created_at": community.created_at,
        "updated_at": community.updated_at,
        "version": community.version,
    }


def community_from(doc: Mapping[str, Any]) -> Community:
    """The community a stored document holds."""
    return Community(
        id=str(doc["_id"]),
        name=str(doc["name"]),
        description=str(doc["description"]),
        visibility=Visibility(doc["visibility"]),
        state=CommunityState(doc["state"]),
        tags=tuple(str(t) for t in doc.get("tags") or ()),
        staff={str(s["person_id"]): Role(s["role"]) for s in doc.get("staff") or ()},
        created_by=str(doc["created_by"]),
        created_at=_req_utc(doc["created_at"]),
        updated_at=_req_utc(doc["updated_at"]),
        version=int(doc["version"]),
    )


# ----------------------------------------------------------------- memberships


def _request_fields(request: JoinRequest | None) -> Document | None:
    if request is None:
        return None
    return {
        "message": request.message,
        "requested_at": request.requested_at,
        "state": request.state.value,
        "decided_by": request.decided_by,
        "decided_at": request.decided_at,
        "reason": request.reason,
    }


def _request_from(raw: Mapping[str, Any] | None) -> JoinRequest | None:
    if raw is None:
        return None
    return JoinRequest(
        message=str(raw.get("message") or ""),
        requested_at=_req_utc(raw["requested_at"]),
        state=JoinRequestState(raw["state"]),
        decided_by=raw.get("decided_by"),
        decided_at=_utc(raw.get("decided_at")),
        reason=str(raw.get("reason") or ""),
    )


def membership_fields(membership: Membership) -> Document:
    """Every field of ``membership``, as ``$set`` (or insert) fields."""
    return {
        "community_id": membership.community_id,
        "person_id": membership.person_id,
        "status": membership.status.value,
        "role": membership.role.value,
        "changed_at": membership.changed_at,
        "changed_by": membership.changed_by,
        "joined_at": membership.joined_at,
        "role_changed_at": membership.role_changed_at,
        "request": _request_fields(membership.request),
        "version": membership.version,
    }


def membership_from(doc: Mapping[str, Any]) -> Membership:
    """The membership a stored document holds."""
    return Membership(
        community_id=str(doc["community_id"]),
        person_id=str(doc["person_id"]),
        status=MembershipStatus(doc["status"]),
        changed_at=_req_utc(doc["changed_at"]),
        changed_by=str(doc["changed_by"]),
        joined_at=_utc(doc.get("joined_at")),
        request=_request_from(doc.get("request")),
        version=int(doc["version"]),
        role=Role(doc.get("role") or Role.MEMBER.value),
        role_changed_at=_utc(doc.get("role_changed_at")),
    )


# -------------------------------------------------------------------- pinholes


def pinhole_fields(pinhole: Pinhole) -> Document:
    """Every field of ``pinhole``, as ``$set`` (or insert) fields."""
    grants = sorted(pinhole.grants.values(), key=lambda g: g.org_id)
    return {
        "community_id": pinhole.community_id,
        "title": pinhole.title,
        "purpose": pinhole.purpose,
        "expires_at": pinhole.expires_at,
        "state": pinhole.state.value,
        "grants": [
            {
                "org_id": g.org_id,
                "level": g.level.value,
                "granted_by": g.granted_by,
                "granted_at": g.granted_at,
            }
            for g in grants
        ],
        "grant_orgs": [g.org_id for g in grants],
        "proposed_by": pinhole.proposed_by,
        "proposed_at": pinhole.proposed_at,
        "opened_by": pinhole.opened_by,
        "opened_at": pinhole.opened_at,
        "closed_by": pinhole.closed_by,
        "closed_at": pinhole.closed_at,
        "close_reason": None if pinhole.close_reason is None else pinhole.close_reason.value,
        "version": pinhole.version,
    }


def pinhole_from(doc: Mapping[str, Any]) -> Pinhole:
    """The pinhole a stored document holds."""
    grants = {
        str(g["org_id"]): Grant(
            org_id=str(g["org_id"]),
            level=GrantLevel(g["level"]),
            granted_by=str(g["granted_by"]),
            granted_at=_req_utc(g["granted_at"]),
        )
        for g in doc.get("grants") or ()
    }
    reason = doc.get("close_reason")
    return Pinhole(
        id=str(doc["_id"]),
        community_id=str(doc["community_id"]),
        title=str(doc["title"]),
        purpose=str(doc["purpose"]),
        expires_at=_utc(doc.get("expires_at")),
        state=PinholeState(doc["state"]),
        grants=grants,
        proposed_by=str(doc["proposed_by"]),
        proposed_at=_req_utc(doc["proposed_at"]),
        opened_by=doc.get("opened_by"),
        opened_at=_utc(doc.get("opened_at")),
        closed_by=doc.get("closed_by"),
        closed_at=_utc(doc.get("closed_at")),
        close_reason=None if reason is None else CloseReason(reason),
        version=int(doc["version"]),
    )
