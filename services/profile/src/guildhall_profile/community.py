"""The exact half of partner visibility: which pinholes a partner user can see right now.

The community service owns the access decision and answers it from current
state, so once RevokeGrant or ClosePinhole returned, its ListSpaces no longer
lists the pinhole for that org's users. Profile asks it on every partner
request for people and caches nothing, which is what makes revocation exact
here too (docs/adr/0005-profile-partner-visibility.md).

The call forwards the partner's own bearer token: the community service lets
a caller ask only about themself, so the question cannot be widened, and
profile needs no credentials of its own. It is deadline-bounded; when the
community service does not answer, the partner's request fails with
UNAVAILABLE (closed, never open).
"""

from __future__ import annotations

from typing import Final

import grpc

from guildhall.community.v1 import community_pb2, community_pb2_grpc
from guildhall_kit.auth import Principal
from guildhall_kit.errors import Unavailable
from guildhall_kit.grpc import make_channel
from guildhall_kit.logging import get_logger
from guildhall_profile.domain.visibility import VisiblePinhole

_log = get_logger(__name__)

COMMUNITY_SERVICE: Final = community_pb2.DESCRIPTOR.services_by_name["CommunityService"].full_name

MAX_PAGES: Final = 20
"""A partner sees a handful of pinholes; 20 pages of 100 is a bound, not an expectation.
Past it the rest is left out, which can only hide people, never show them."""


class CommunityAccess:
    """Client of ``CommunityService.ListSpaces`` for partner principals."""

    def __init__(self, target: str, *, deadline_seconds: float) -> None:
        self._channel = make_channel(target, idempotent_services=[COMMUNITY_SERVICE])
        self._stub = community_pb2_grpc.CommunityServiceStub(self._channel)
        self._deadline = deadline_seconds

    async def close(self) -> None:
        await self._channel.close()

    async def visible_pinholes(
        self,
        principal: Principal,
        *,
        authorization: str | None,
        time_left: float | None,
    ) -> tuple[VisiblePinhole, ...]:
        """The open pinholes ``principal`` (a partner user) may read at this moment.

        ``authorization`` is the caller's ``authorization`` metadata value,
        forwarded as is. Blocks for at most the configured deadline (or
        ``time_left``, the caller's remaining time, if shorter) per page.

        Raises:
            Unavailable: the community service did not answer in time or
                refused the question; nothing is decided without it.
        """
        request = community_pb2.ListSpacesRequest(
            principal=community_pb2.Principal(
                person_id=principal.subject,
                org_id=principal.org_id,
                kind=community_pb2.PRINCIPAL_KIND_PARTNER_USER,
            ),
            action=community_pb2.ACTION_READ,
            page_size=100,
        )
        metadata = (("authorization", authorization),) if authorization else ()
        timeout = self._deadline if time_left is None else max(min(self._deadline, time_left), 0.0)
        pinholes: list[VisiblePinhole] = []
        for _ in range(MAX_PAGES):
            try:
                reply = await self._stub.ListSpaces(request, timeout=timeout, metadata=metadata)
            except grpc.aio.AioRpcError as exc:
                _log.warning(
                    "community ListSpaces failed", code=exc.code().name, details=exc.details()
                )
                raise Unavailable("the access decision is unavailable; try again") from None
            for entry in reply.spaces:
                space = entry.space
                if (
                    space.kind == community_pb2.SPACE_KIND_PINHOLE
                    and space.pinhole_state == community_pb2.PINHOLE_STATE_OPEN
                ):
                    pinholes.append(VisiblePinhole(space.space_id, space.community_id))
            if not reply.next_page_token:
                break
            request.page_token = reply.next_page_token
        else:
            _log.warning("partner sees more spaces than listed; the rest is left out")
        return tuple(pinholes)
