"""Organisation operations: the home enterprise, partner registration and suspension.

Each operation returns the organisation's next state with the one event it
publishes, or with no event when the requested end state already held. The
caller's right to act (home admin) is checked by the adapter before it calls
these; uniqueness of ids and names is enforced by the repository's unique
indexes, which are the only place that can see every organisation at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from guildhall_kit.errors import FailedPrecondition, InvalidArgument

from .events import OrgRegistered, OrgReinstated, OrgSuspended
from .model import Org, OrgKind, OrgState


@dataclass(frozen=True, slots=True)
class OrgChange:
    """An organisation's state after an operation, with its event (None: nothing changed)."""

    org: Org
    event: OrgRegistered | OrgSuspended | OrgReinstated | None

    @property
    def changed(self) -> bool:
        return self.event is not None


def home_org(org_id: str, display_name: str, now: datetime) -> OrgChange:
    """The home enterprise as created from configuration at first start.

    Raises:
        ValueError: empty id or name (a configuration error, caught at boot).
    """
    if not org_id or not display_name.strip():
        raise ValueError("the home org needs an id and a display name")
    org = Org(
        org_id=org_id,
        kind=OrgKind.HOME,
        display_name=display_name.strip(),
        state=OrgState.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    return OrgChange(org, OrgRegistered(org=org, actor_id=""))


def register_org(
    *, org_id: str, kind: OrgKind, display_name: str, actor_id: str, now: datetime
) -> OrgChange:
    """A new partner organisation.

    Raises:
        InvalidArgument: ``kind`` is HOME (there is exactly one home org, made
            from configuration), or the name folds to nothing.
    """
    if kind is OrgKind.HOME:
        raise InvalidArgument("kind", "must be a partner kind: vendor, supplier or customer")
    org = Org(
        org_id=org_id,
        kind=kind,
        display_name=display_name,
        state=OrgState.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    if not org.name_key.strip():
        raise InvalidArgument("display_name", "must contain a visible character")
    return OrgChange(org, OrgRegistered(org=org, actor_id=actor_id))


def suspend_org(org: Org, *, reason: str, actor_id: str, now: datetime) -> OrgChange:
    """Suspend a partner organisation; a suspended one is returned unchanged.

    Raises:
        FailedPrecondition: ``org`` is the home organisation.
    """
    if org.kind is OrgKind.HOME:
        raise FailedPrecondition("the home organisation cannot be suspended")
    if org.state is OrgState.SUSPENDED:
        return OrgChange(org, None)
    after = replace(
        org,
        state=OrgState.SUSPENDED,
        suspension_reason=reason,
        updated_at=now,
        version=org.version + 1,
    )
    return OrgChange(after, OrgSuspended(org=after, actor_id=actor_id, reason=reason))


def reinstate_org(org: Org, *, actor_id: str, now: datetime) -> OrgChange:
    """Lift a suspension; an active organisation is returned unchanged.

    Raises:
        FailedPrecondition: ``org`` is the home organisation.
    """
    if org.kind is OrgKind.HOME:
        raise FailedPrecondition("the home organisation cannot be suspended or reinstated")
    if org.state is OrgState.ACTIVE:
        return OrgChange(org, None)
    after = replace(
        org, state=OrgState.ACTIVE, suspension_reason="", updated_at=now, version=org.version + 1
    )
    return OrgChange(after, OrgReinstated(org=after, actor_id=actor_id))
