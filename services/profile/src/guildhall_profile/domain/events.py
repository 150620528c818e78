"""Domain events: the facts the profile service publishes.

Plain immutable values, one per state change. The adapter maps each to the
protobuf message of the same name in ``guildhall.profile.v1`` (``ce_type`` is
``guildhall.profile.v1.<ClassName>``), keys it by :attr:`aggregate_id` (the
org or person the event is about, also ``ce_subject``) and puts it into the
outbox of the document whose write it describes, in the same write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .model import Org, Person


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgRegistered:
    """An organisation was registered (a partner by a home admin, or the home org at bootstrap)."""

    org: Org
    actor_id: str
    """The home admin; empty for the home org created from configuration."""

    @property
    def aggregate_id(self) -> str:
        return self.org.org_id


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgSuspended:
    """A partner organisation was suspended."""

    org: Org
    actor_id: str
    reason: str

    @property
    def aggregate_id(self) -> str:
        return self.org.org_id


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgReinstated:
    """A suspended partner organisation was reinstated."""

    org: Org
    actor_id: str

    @property
    def aggregate_id(self) -> str:
        return self.org.org_id


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonJoined:
    """A person was created."""

    person: Person
    actor_id: str

    @property
    def aggregate_id(self) -> str:
        return self.person.person_id


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileUpdated:
    """A person's profile changed; ``changed_fields`` names the Person fields."""

    person: Person
    changed_fields: tuple[str, ...]
    actor_id: str

    @property
    def aggregate_id(self) -> str:
        return self.person.person_id


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpertiseDeclared:
    """A person replaced their declared expertise tags."""

    person_id: str
    tags: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    declared_at: datetime

    @property
    def aggregate_id(self) -> str:
        return self.person_id


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpertiseEarned:
    """A person earned expertise because one of their answers was accepted."""

    person_id: str
    tags: tuple[str, ...]
    answer_id: str
    question_id: str
    space_id: str
    source_event_id: str
    earned_at: datetime

    @property
    def aggregate_id(self) -> str:
        return self.person_id


Event = (
    OrgRegistered
    | OrgSuspended
    | OrgReinstated
    | PersonJoined
    | ProfileUpdated
    | ExpertiseDeclared
    | ExpertiseEarned
)
