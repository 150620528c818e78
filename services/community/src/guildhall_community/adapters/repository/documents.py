"""The stored shape of the community service's state: domain values <-> BSON documents.

Pure functions, no I/O. One collection per aggregate, one document per
aggregate, so a state change and its outbox events are one single-document
write (docs/adr/0009-community-storage-and-revocation.md). Beside the domain
fields each document carries the keys its listings sort by, derived from
those fields in the same write (so they can never disagree with them):

``communities``   ``_id`` = community id. ``staff`` as a list of ``{person_id,
                  role}`` (at most 200, always read whole with the community:
                  it is what makes "always an owner" a compare-and-set),
                  ``name_key`` (the case-folded name: the directory's order
                  and prefix) and ``member_count``, a counter the repository
                  keeps with ``$inc`` and the domain never reads.
``memberships``   ``_id`` = ``<community id>:<person id>`` (:func:`membership_id`),
                  so the membership a decision needs is one ``_id`` read;
                  ``join_key`` / ``request_key`` (``<13-digit ms>|<person>``:
                  member lists by join time, join requests by request time).
``pinholes``      ``_id`` = pinhole id (a ULID: newest first is descending
                  ``_id``). ``grants`` as a list ordered by org id and
                  ``grant_orgs``, the granted org ids (a multikey index:
                  "the pinholes granted to this org").

Ids are at most 64 characters of ``[a-z0-9_-]``, so ``:`` and ``|`` cannot
occur in them and the composite keys are unambiguous. Times are stored as
BSON dates (whole milliseconds; the service clock is truncated to them, so a
round trip is lossless).
"""

from __future__ import annotations

from collections.abc import Mapping
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
    name_key,
)
from guildhall_kit.mongo import Document

COMMUNITIES = "communities"
MEMBERSHIPS = "memberships"
PINHOLES = "pinholes"
COMMUNITY_NAMES = "community_names"
"""``_id`` = case-folded name of an active community -> ``community_id``: the name claim."""
ORGS = "orgs"
"""Read model of profile events: ``_id`` = org id -> ``kind``, ``suspended``, ``version``."""
PEOPLE = "people"
"""Read model of profile events: ``_id`` = person id -> ``kind``, ``org_id``."""

OUTBOX_COLLECTIONS = (COMMUNITIES, MEMBERSHIPS, PINHOLES)
"""The collections whose documents carry outbox entries."""


def membership_id(community_id: str, person_id: str) -> str:
    """The ``_id`` of a person's membership document in a community."""
    return f"{community_id}:{person_id}"


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
        "join_key": membership.join_key,
        "request_key": membership.request_key,
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
