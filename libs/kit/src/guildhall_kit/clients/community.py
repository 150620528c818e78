"""The community service's access decision, as other services ask it.

The community service owns "may principal P do action A in space S" and
answers from current state, so a revoked grant or a closed pinhole stops
counting for every call that starts after the revoking call returned. Services
that must be exact for partners (post, profile, notification) ask it here.

Every call carries a deadline and a credential: either the caller's own
``authorization`` metadata, forwarded as is (the community service then lets
the caller ask only about themself, so the question cannot be widened), or
this service's own token (service principals may ask about anyone). Any
failure raises :class:`~guildhall_kit.errors.Unavailable`: access never fails
open.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import grpc

from guildhall.community.v1 import community_pb2 as cpb
from guildhall.community.v1 import community_pb2_grpc
from guildhall_kit import roundtrips
from guildhall_kit.auth.principal import Principal
from guildhall_kit.errors import Unavailable
from guildhall_kit.grpc.client import make_channel
from guildhall_kit.logging import get_logger

_log = get_logger(__name__)

SERVICE: Final = cpb.DESCRIPTOR.services_by_name["CommunityService"].full_name
MAX_PAGES: Final = 50
"""ListSpaces is read in pages of 100, up to this many pages. A partner sees a handful of
pinholes; past the bound the rest is left out, which can only hide spaces, never show them."""


class Action(enum.StrEnum):
    """What a principal may do in a space (the contract's ``Action``)."""

    READ = "read"
    POST = "post"
    COMMENT = "comment"
    MODERATE = "moderate"
    ADMINISTER = "administer"


_TO_PROTO: Final = {
    Action.READ: cpb.ACTION_READ,
    Action.POST: cpb.ACTION_POST,
    Action.COMMENT: cpb.ACTION_COMMENT,
    Action.MODERATE: cpb.ACTION_MODERATE,
    Action.ADMINISTER: cpb.ACTION_ADMINISTER,
}
_FROM_PROTO: Final = {v: k for k, v in _TO_PROTO.items()}


@dataclass(frozen=True, slots=True)
class SpaceAccess:
    """One space a principal may act in, and every action allowed there now."""

    space_id: str
    community_id: str
    is_pinhole: bool
    is_open: bool
    """For a pinhole: whether it is open now; always True for a main space."""
    title: str
    actions: frozenset[Action]


def principal_message(principal: Principal) -> cpb.Principal:
    """The contract's principal for a person (never a service principal)."""
    return cpb.Principal(
        person_id=principal.subject,
        org_id=principal.org_id,
        kind=(
            cpb.PRINCIPAL_KIND_PARTNER_USER if principal.is_partner else cpb.PRINCIPAL_KIND_EMPLOYEE
        ),
        home_admin=principal.is_home_admin,
    )


Credential = Callable[[], str | None]
"""Returns the ``authorization`` value to send when the caller forwards none (this
service's own bearer token), or None when the service has no identity of its own."""


class CommunityAccessClient:
    """CheckAccess and ListSpaces with deadlines. Both are idempotent reads, so the
    channel retries them on UNAVAILABLE."""

    def __init__(
        self, target: str, *, deadline_s: float, own_credential: Credential | None = None
    ) -> None:
        self._channel = make_channel(target, idempotent_services=[SERVICE])
        self._stub = community_pb2_grpc.CommunityServiceStub(self._channel)
        self._deadline = deadline_s
        self._own = own_credential

    async def close(self) -> None:
        await self._channel.close()

    def _options(self, authorization: str | None, time_left: float | None) -> dict[str, object]:
        value = authorization if authorization is not None else (self._own() if self._own else None)
        metadata = (("authorization", value),) if value else ()
        timeout = self._deadline if time_left is None else max(min(self._deadline, time_left), 0.0)
        return {"timeout": timeout, "metadata": metadata}

    async def check(
        self,
        principal: Principal,
        space_id: str,
        action: Action,
        *,
        authorization: str | None = None,
        time_left: float | None = None,
    ) -> bool:
        """Whether ``principal`` may do ``action`` in ``space_id`` now.

        ``authorization`` is the caller's metadata value to forward; None sends
        this service's own credential. Blocks for at most the configured
        deadline (or ``time_left``, if shorter).

        Raises:
            Unavailable: the call failed, timed out or was refused.
        """
        request = cpb.CheckAccessRequest(
            principal=principal_message(principal), space_id=space_id, action=_TO_PROTO[action]
        )
        try:
            options = self._options(authorization, time_left)
            call = self._stub.CheckAccess(request, **options)  # type: ignore[arg-type]
            reply: cpb.CheckAccessResponse = await roundtrips.unary(call)
        except grpc.aio.AioRpcError as exc:
            raise _unavailable("CheckAccess", exc) from None
        return bool(reply.allowed)

    async def list_spaces(
        self,
        principal: Principal,
        action: Action = Action.READ,
        *,
        authorization: str | None = None,
        time_left: float | None = None,
    ) -> list[SpaceAccess]:
        """Every space where ``principal`` may do ``action`` now (main spaces and pinholes).

        Raises:
            Unavailable: a call failed, timed out or was refused.
        """
        found: list[SpaceAccess] = []
        request = cpb.ListSpacesRequest(
            principal=principal_message(principal), action=_TO_PROTO[action], page_size=100
        )
        for _ in range(MAX_PAGES):
            try:
                options = self._options(authorization, time_left)
                call = self._stub.ListSpaces(request, **options)  # type: ignore[arg-type]
                reply: cpb.ListSpacesResponse = await roundtrips.unary(call)
            except grpc.aio.AioRpcError as exc:
                raise _unavailable("ListSpaces", exc) from None
            for entry in reply.spaces:
                space = entry.space
                pinhole = space.kind == cpb.SPACE_KIND_PINHOLE
                found.append(
                    SpaceAccess(
                        space_id=space.space_id,
                        community_id=space.community_id,
                        is_pinhole=pinhole,
                        is_open=not pinhole or space.pinhole_state == cpb.PINHOLE_STATE_OPEN,
                        title=space.title,
                        actions=frozenset(
                            _FROM_PROTO[a] for a in entry.allowed_actions if a in _FROM_PROTO
                        ),
                    )
                )
            if not reply.next_page_token:
                break
            request.page_token = reply.next_page_token
        else:
            _log.warning("principal sees more spaces than listed; the rest is left out")
        return found


def _unavailable(method: str, exc: grpc.aio.AioRpcError) -> Unavailable:
    _log.warning("community access call failed", method=method, code=exc.code().name)
    return Unavailable("the community service could not confirm access; try again")
