"""What the gateway knows about one request while it is served (scope state)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from starlette.requests import Request
from starlette.types import Scope

from guildhall_gateway.auth import Caller
from guildhall_gateway.domain.problems import Problem, ProblemType
from guildhall_gateway.domain.scoping import PartnerReach
from guildhall_kit.clock import now_ms

KEY = "guildhall"


@dataclass
class RequestState:
    """Set by the middleware; read and filled by the routes."""

    request_id: str
    received_at: datetime = field(default_factory=now_ms)
    started: float = field(default_factory=time.monotonic)
    caller: Caller | None = None
    reach: PartnerReach | None = None
    spaces: set[str] = field(default_factory=set)
    """Spaces the request named or its answer showed (chooses the audit chain)."""


def state_of(scope: Scope) -> RequestState:
    found = scope.get("state", {}).get(KEY)
    if not isinstance(found, RequestState):
        raise RuntimeError("the gateway middleware did not run for this request")
    return found


def caller_of(request: Request) -> Caller:
    """The authenticated caller (the middleware authenticated every /v1 request).

    Raises:
        Problem: 401 if there is none (a route outside /v1 asked for one).
    """
    caller = state_of(request.scope).caller
    if caller is None:
        raise Problem(ProblemType.UNAUTHENTICATED, "an access token is required")
    return caller
