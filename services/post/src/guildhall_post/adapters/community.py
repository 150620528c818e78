"""The community service, as the post service asks it about partner users.

Every call carries a deadline (``community_deadline_seconds``) and the caller's
own bearer token, so the community service decides for exactly the principal it
authenticates. Any failure (timeout, unreachable, an unexpected status) raises
:class:`~guildhall_kit.errors.Unavailable`: access never fails open.
"""

from __future__ import annotations

from typing import Final

import grpc

from guildhall.community.v1 import community_pb2 as cpb
from guildhall.community.v1 import community_pb2_grpc
from guildhall_kit.auth import Principal
from guildhall_kit.errors import Unavailable
from guildhall_kit.grpc import call_options, make_channel
from guildhall_kit.logging import get_logger
from guildhall_post.domain.access import Action

_log = get_logger(__name__)

SERVICE: Final = cpb.DESCRIPTOR.services_by_name["CommunityService"].full_name

_ACTIONS: Final = {
    Action.READ: cpb.ACTION_READ,
    Action.POST: cpb.ACTION_POST,
    Action.COMMENT: cpb.ACTION_COMMENT,
    Action.MODERATE: cpb.ACTION_MODERATE,
    Action.ADMINISTER: cpb.ACTION_ADMINISTER,
}
_FROM_PROTO: Final = {v: k for k, v in _ACTIONS.items()}
MAX_LISTED_SPACES: Final = 5000
"""ListSpaces is paged through up to this many spaces (a partner org has a handful)."""


def _principal(principal: Principal) -> cpb.Principal:
    return cpb.Principal(
        person_id=principal.subject,
        org_id=principal.org_id,
        kind=cpb.PRINCIPAL_KIND_PARTNER_USER
        if principal.is_partner
        else cpb.PRINCIPAL_KIND_EMPLOYEE,
        home_admin=principal.is_home_admin,
    )


class CommunityAccess:
    """CheckAccess and ListSpaces with deadlines; CheckAccess and ListSpaces are
    idempotent reads, so the channel retries them on UNAVAILABLE."""

    def __init__(self, target: str, *, deadline_s: float) -> None:
        self._channel = make_channel(target, idempotent_services=[SERVICE])
        self._stub = community_pb2_grpc.CommunityServiceStub(self._channel)
        self._deadline = deadline_s

    async def close(self) -> None:
        await self._channel.close()

    async def check(
        self, principal: Principal, token: str | None, space_id: str, action: Action
    ) -> bool:
        """Whether the community service allows ``action`` in ``space_id`` now.

        Raises:
            Unavailable: the call failed or timed out.
        """
        request = cpb.CheckAccessRequest(
            principal=_principal(principal), space_id=space_id, action=_ACTIONS[action]
        )
        try:
            reply = await self._stub.CheckAccess(request, **call_options(token, self._deadline))  # type: ignore[arg-type]
        except grpc.aio.AioRpcError as exc:
            raise self._unavailable("CheckAccess", exc) from None
        return bool(reply.allowed)

    async def list_spaces(
        self, principal: Principal, token: str | None, action: Action = Action.READ
    ) -> dict[str, frozenset[Action]]:
        """Every space where ``action`` is allowed now, with all actions allowed there.

        Raises:
            Unavailable: a call failed or timed out.
        """
        found: dict[str, frozenset[Action]] = {}
        page_token = ""
        while len(found) < MAX_LISTED_SPACES:
            request = cpb.ListSpacesRequest(
                principal=_principal(principal),
                action=_ACTIONS[action],
                page_size=100,
                page_token=page_token,
            )
            try:
                reply = await self._stub.ListSpaces(request, **call_options(token, self._deadline))  # type: ignore[arg-type]
            except grpc.aio.AioRpcError as exc:
                raise self._unavailable("ListSpaces", exc) from None
            for entry in reply.spaces:
                found[entry.space.space_id] = frozenset(
                    _FROM_PROTO[a] for a in entry.allowed_actions if a in _FROM_PROTO
                )
            page_token = reply.next_page_token
            if not page_token:
                break
        return found

    @staticmethod
    def _unavailable(method: str, exc: grpc.aio.AioRpcError) -> Unavailable:
        _log.warning("community access call failed", method=method, code=exc.code().name)
        return Unavailable("the community service could not confirm access; try again")
