"""Rate limits: token buckets per partner org, per partner client and per employee,
and for the token endpoint per client id and per source address.

Buckets live in this process (throttled-py's in-memory store): with N
replicas behind a balancer each replica holds its own buckets, so an org may
reach up to N times its configured rate in the worst case, and about its rate
when the balancer spreads its requests evenly. docs/adr/0015 says how to share
them (the same library's Redis store) when that matters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from throttled.asyncio import MemoryStore, RateLimiterType, Throttled, per_min

from guildhall_gateway.auth import Caller


@dataclass(frozen=True, slots=True)
class Bucket:
    """A token bucket: refill rate (tokens per second) and size."""

    per_second: float
    burst: int


@dataclass(frozen=True, slots=True)
class Limits:
    partner_org: Bucket
    client: Bucket
    employee: Bucket
    token_client: Bucket = Bucket(1.0, 10)
    """``POST /oauth/token`` per client id (authenticated or not: guesses count too)."""
    token_address: Bucket = Bucket(5.0, 30)
    """``POST /oauth/token`` per source address (many client ids from one place)."""


class RateLimits:
    """Decides whether a caller's request may go ahead now."""

    def __init__(self, limits: Limits, *, max_keys: int = 200_000) -> None:
        store = MemoryStore(options={"MAX_SIZE": max_keys})
        self._org = self._throttle(limits.partner_org, store, "org")
        self._client = self._throttle(limits.client, store, "client")
        self._employee = self._throttle(limits.employee, store, "employee")
        self._token_client = self._throttle(limits.token_client, store, "token-client")
        self._token_address = self._throttle(limits.token_address, store, "token-address")

    @staticmethod
    def _throttle(bucket: Bucket, store: MemoryStore, prefix: str) -> Throttled:
        # Rates are kept per minute so fractional per-second rates stay exact enough.
        quota = per_min(max(1, round(bucket.per_second * 60)), burst=bucket.burst)
        return Throttled(
            using=RateLimiterType.TOKEN_BUCKET.value,
            quota=quota,
            store=store,
            key_prefix=f"gh-{prefix}",
        )

    async def retry_after(self, caller: Caller) -> int | None:
        """None when the request may go ahead, else whole seconds to wait (>= 1).

        A partner request takes a token from its org's bucket, and a partner
        system's also from its client's; an employee's from their own.
        """
        principal = caller.principal
        if principal.is_partner:
            checks = [(self._org, principal.org_id)]
            if caller.client_id:
                checks.append((self._client, caller.client_id))
        else:
            checks = [(self._employee, principal.subject)]
        return await self._first_limited(checks)

    async def token_request_retry_after(self, client_id: str, address: str) -> int | None:
        """Like :meth:`retry_after`, for a token request: checked before the secret is,
        so guessing secrets costs the guesser a token each and the gateway no hash."""
        return await self._first_limited(
            [(self._token_address, address or "unknown"), (self._token_client, client_id)]
        )

    @staticmethod
    async def _first_limited(checks: list[tuple[Throttled, str]]) -> int | None:
        for throttle, key in checks:
            result = await throttle.limit(key)
            if result.limited:
                return max(1, math.ceil(result.state.retry_after))
        return None
