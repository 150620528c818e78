"""Partner reach, asked of the community service for every partner request."""

from __future__ import annotations

from guildhall_gateway.auth import Caller
from guildhall_gateway.domain.problems import Problem, ProblemType
from guildhall_gateway.domain.scoping import PartnerReach
from guildhall_kit.clients import Action, CommunityAccessClient
from guildhall_kit.errors import Unavailable


class PartnerScope:
    """The open pinholes granted to a partner's org, as the community service decides now.

    Nothing is cached: a grant revoked, a pinhole closed or expired, stops
    counting for the very next request (the community service is exact for
    every call that starts after the revoking call returned).
    """

    def __init__(self, access: CommunityAccessClient) -> None:
        self._access = access

    async def reach(self, caller: Caller) -> PartnerReach:
        """The partner's reach now.

        Raises:
            Problem: 503 when the community service cannot answer in time
                (access never fails open).
        """
        principal = caller.principal
        try:
            spaces = await self._access.list_spaces(
                principal, Action.READ, authorization=caller.service_authorization()
            )
        except Unavailable as exc:
            raise Problem(ProblemType.UNAVAILABLE, exc.message, retry_after=1) from None
        return PartnerReach(
            org_id=principal.org_id,
            spaces=frozenset(s.space_id for s in spaces if s.is_pinhole and s.is_open),
        )
