"""Outbound webhooks of partner orgs: registration, the delivery queue and its worker.

Registration is for partner org admins (a partner user with the ``admin``
role), for their own org only; everyone else is PERMISSION_DENIED before any
lookup, and another org's webhook is NOT_FOUND. The signing secret is shown
once (create, rotate) and stored encrypted (it must be usable for signing).

Deliveries. A pinhole event becomes one delivery per enabled webhook of each
org the pinhole is granted to (the read model's grants, which can only leave
orgs out) that chose the event's type; each delivery is keyed by
(webhook, event) so a redelivered event queues nothing twice. The worker takes
due deliveries with a compare-and-set lease (any replica may run it), checks
the org's access exactly at that moment with CheckAccess (a revoked org gets
nothing; the delivery is DROPPED), POSTs the signed body with a timeout, and
records the attempt. Failures are retried with exponential backoff and jitter
up to ``max_attempts``; a webhook failing ``disable_after`` times in a row is
disabled, its pending deliveries CANCELLED and its creator notified. Events
about the org's own grant (granted, revoked, closed) skip the access check:
they are about the org itself and carry nothing from inside the pinhole.

The worker runs apart from everything else (its own task, bounded
concurrency, a timeout on every attempt), so a slow or dead endpoint never
holds up the inbox or the stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from guildhall_kit.auth import Principal, PrincipalKind, require_principal
from guildhall_kit.clients import Action
from guildhall_kit.clock import new_id
from guildhall_kit.errors import InvalidArgument, NotFound, PermissionDenied, Unavailable
from guildhall_kit.logging import get_logger
from guildhall_kit.paging import decode_token, encode_token, key_str, page_size
from guildhall_notification.application.delivery import Fanout, Happening
from guildhall_notification.application.ports import Clock, CommunityAccess, ReadModelsPort
from guildhall_notification.domain import texts, webhooks
from guildhall_notification.domain.audience import Activity, Relation
from guildhall_notification.domain.model import Kind, Reason, Template

_log = get_logger(__name__)

ADMIN_ROLE = "admin"
ACCESS_EVENTS = frozenset({"pinhole_granted", "pinhole_revoked", "pinhole_closed"})


@dataclass(frozen=True, slots=True)
class Webhook:
    webhook_id: str
    org_id: str
    url: str
    event_types: tuple[str, ...]
    description: str
    enabled: bool
    disabled_reason: str
    consecutive_failures: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    secret_set_at: datetime
    secret_hint: str


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: str
    webhook_id: str
    org_id: str
    event_type: str
    source_event_id: str
    space_id: str
    data: Mapping[str, Any]
    occurred_at: datetime
    check_access: bool
    state: str
    attempts: int
    last_status_code: int
    last_error: str
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None


PENDING, SUCCEEDED, FAILED, DROPPED, CANCELLED = (
    "pending",
    "succeeded",
    "failed",
    "dropped",
    "cancelled",
)


class WebhookStore(Protocol):
    async def insert(self, webhook: Webhook, secret: str) -> None: ...

    async def get(self, org_id: str, webhook_id: str) -> Webhook | None: ...

    async def page(self, org_id: str, *, before: str | None, limit: int) -> list[Webhook]: ...

    async def secrets(self, webhook_id: str, now: datetime, grace: timedelta) -> list[str]: ...

    async def rotate(self, webhook_id: str, secret: str, at: datetime) -> None: ...

    async def set_enabled(
        self, webhook_id: str, enabled: bool, reason: str, at: datetime, *, only_if_enabled: bool
    ) -> bool: ...

    async def delete(self, webhook_id: str) -> None: ...

    async def subscribed(self, org_ids: Sequence[str], event_type: str) -> list[Webhook]: ...

    async def record_result(self, webhook_id: str, ok: bool) -> int: ...

    async def by_id(self, webhook_id: str) -> Webhook | None: ...

    async def queue(self, deliveries: Sequence[Delivery]) -> None: ...

    async def due(self, now: datetime, limit: int) -> list[Delivery]: ...

    async def claim(self, delivery: Delivery, until: datetime) -> bool: ...

    async def finish_attempt(self, delivery: Delivery) -> None: ...

    async def cancel_pending(self, webhook_id: str) -> None: ...

    async def delete_deliveries(self, webhook_id: str) -> None: ...

    async def deliveries(
        self, webhook_id: str, *, before: str | None, limit: int
    ) -> list[Delivery]: ...


class Sender(Protocol):
    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> tuple[int, str]:
        """(status code, error): status 0 and an error when no answer came."""
        ...


@dataclass(frozen=True)
class WebhookPolicy:
    allow_http: bool
    allow_private: bool
    timeout_s: float
    max_attempts: int
    backoff_s: float
    backoff_max_s: float
    disable_after: int
    rotation_grace: timedelta
    concurrency: int


class Webhooks:
    def __init__(
        self,
        store: WebhookStore,
        models: ReadModelsPort,
        community: CommunityAccess,
        fanout: Fanout,
        sender: Sender,
        *,
        policy: WebhookPolicy,
        clock: Clock,
    ) -> None:
        self._store = store
        self._models = models
        self._community = community
        self._fanout = fanout
        self._sender = sender
        self._policy = policy
        self._clock = clock
        self._gate = asyncio.Semaphore(policy.concurrency)

    # ------------------------------------------------------------- management

    @staticmethod
    def _admin() -> Principal:
        principal = require_principal(PrincipalKind.PARTNER)
        if ADMIN_ROLE not in principal.roles:
            raise PermissionDenied("only partner org admins manage webhooks")
        return principal

    async def _own(self, webhook_id: str) -> tuple[Principal, Webhook]:
        principal = self._admin()
        webhook = await self._store.get(principal.org_id, webhook_id)
        if webhook is None:
            raise NotFound("webhook")
        return principal, webhook

    async def create(
        self, url: str, event_types: Sequence[str], description: str
    ) -> tuple[Webhook, str]:
        principal = self._admin()
        try:
            webhooks.check_endpoint(
                url, allow_http=self._policy.allow_http, allow_private=self._policy.allow_private
            )
        except webhooks.EndpointRefused as exc:
            raise InvalidArgument("url", str(exc)) from None
        now = self._clock()
        secret = webhooks.new_secret()
        webhook = Webhook(
            webhook_id=new_id(now),
            org_id=principal.org_id,
            url=url,
            event_types=tuple(event_types),
            description=description,
            enabled=True,
            disabled_reason="",
            consecutive_failures=0,
            created_by=principal.subject,
            created_at=now,
            updated_at=now,
            secret_set_at=now,
            secret_hint=secret[-4:],
        )
        await self._store.insert(webhook, secret)
        return webhook, secret

    async def get(self, webhook_id: str) -> Webhook:
        return (await self._own(webhook_id))[1]

    async def page(self, size: int, token: str) -> tuple[list[Webhook], str]:
        principal = self._admin()
        scope = [principal.org_id]
        key = decode_token(token, "webhooks", (str,), scope=scope)
        limit = page_size(size)
        found = await self._store.page(
            principal.org_id, before=key_str(key, 0) if key else None, limit=limit
        )
        next_token = (
            encode_token("webhooks", [found[-1].webhook_id], scope=scope)
            if len(found) == limit
            else ""
        )
        return found, next_token

    async def rotate(self, webhook_id: str) -> tuple[Webhook, str]:
        _, webhook = await self._own(webhook_id)
        secret = webhooks.new_secret()
        await self._store.rotate(webhook.webhook_id, secret, self._clock())
        return await self.get(webhook_id), secret

    async def set_enabled(self, webhook_id: str, enabled: bool) -> Webhook:
        principal, webhook = await self._own(webhook_id)
        reason = "" if enabled else f"disabled by {principal.subject}"
        await self._store.set_enabled(
            webhook.webhook_id, enabled, reason, self._clock(), only_if_enabled=False
        )
        if not enabled:
            await self._store.cancel_pending(webhook.webhook_id)
        return await self.get(webhook_id)

    async def delete(self, webhook_id: str) -> None:
        _, webhook = await self._own(webhook_id)
        await self._store.delete(webhook.webhook_id)
        await self._store.delete_deliveries(webhook.webhook_id)

    async def deliveries(
        self, webhook_id: str, size: int, token: str
    ) -> tuple[list[Delivery], str]:
        _, webhook = await self._own(webhook_id)
        scope = [webhook.webhook_id]
        key = decode_token(token, "deliveries", (str,), scope=scope)
        limit = page_size(size)
        found = await self._store.deliveries(
            webhook.webhook_id, before=key_str(key, 0) if key else None, limit=limit
        )
        next_token = (
            encode_token("deliveries", [found[-1].delivery_id], scope=scope)
            if len(found) == limit
            else ""
        )
        return found, next_token

    # ---------------------------------------------------------------- queueing

    async def _queue(
        self,
        *,
        event_id: str,
        event_type: str,
        space_id: str,
        org_ids: Sequence[str],
        data: Mapping[str, Any],
        at: datetime,
        check_access: bool,
    ) -> None:
        if not org_ids:
            return
        targets = await self._store.subscribed(org_ids, event_type)
        if not targets:
            return
        now = self._clock()
        await self._store.queue(
            [
                Delivery(
                    delivery_id=new_id(now),
                    webhook_id=w.webhook_id,
                    org_id=w.org_id,
                    event_type=event_type,
                    source_event_id=event_id,
                    space_id=space_id,
                    data={**data, "org_id": w.org_id},
                    occurred_at=at,
                    check_access=check_access,
                    state=PENDING,
                    attempts=0,
                    last_status_code=0,
                    last_error="",
                    created_at=now,
                    last_attempt_at=None,
                    next_attempt_at=now,
                )
                for w in targets
            ]
        )

    async def content_event(
        self,
        *,
        event_id: str,
        event_type: str,
        space_id: str,
        data: Mapping[str, Any],
        at: datetime,
    ) -> None:
        """Content in a space: queued for the webhooks of the orgs its pinhole is granted to."""
        space = await self._models.space(space_id)
        if space is None or not space.is_pinhole:
            return
        await self._queue(
            event_id=event_id,
            event_type=event_type,
            space_id=space_id,
            org_ids=sorted(space.grants),
            data=data,
            at=at,
            check_access=True,
        )

    async def access_event(
        self,
        *,
        event_id: str,
        event_type: str,
        space_id: str,
        org_ids: list[str],
        data: Mapping[str, Any],
        at: datetime,
    ) -> None:
        """A change to these orgs' own grant: queued for their webhooks."""
        await self._queue(
            event_id=event_id,
            event_type=event_type,
            space_id=space_id,
            org_ids=org_ids,
            data=data,
            at=at,
            check_access=event_type == "pinhole_granted",
        )

    # ------------------------------------------------------------------ worker

    async def tick(self, limit: int = 100) -> int:
        """Attempt every due delivery (concurrently, bounded); returns how many were tried."""
        now = self._clock()
        lease = now + timedelta(seconds=self._policy.timeout_s * 3 + 5)
        due = [d for d in await self._store.due(now, limit) if await self._store.claim(d, lease)]
        await asyncio.gather(*(self._attempt(d) for d in due))
        return len(due)

    async def _allowed(self, delivery: Delivery, webhook: Webhook) -> bool:
        if not delivery.check_access:
            return True
        org_user = Principal(
            subject=webhook.created_by, kind=PrincipalKind.PARTNER, org_id=webhook.org_id
        )
        return await self._community.check(org_user, delivery.space_id, Action.READ)

    async def _attempt(self, delivery: Delivery) -> None:
        async with self._gate:
            webhook = await self._store.by_id(delivery.webhook_id)
            now = self._clock()
            if webhook is None or not webhook.enabled:
                await self._store.finish_attempt(replace(delivery, state=CANCELLED))
                return
            try:
                allowed = await self._allowed(delivery, webhook)
            except Unavailable:
                retry = now + timedelta(seconds=self._policy.backoff_s)
                await self._store.finish_attempt(replace(delivery, next_attempt_at=retry))
                return
            if not allowed:
                await self._store.finish_attempt(
                    replace(delivery, state=DROPPED, next_attempt_at=None)
                )
                return
            status, error = await self._send(delivery, webhook, now)
            ok = 200 <= status < 300
            attempts = delivery.attempts + 1
            if ok:
                outcome = replace(
                    delivery,
                    state=SUCCEEDED,
                    attempts=attempts,
                    last_status_code=status,
                    last_error="",
                    last_attempt_at=now,
                    next_attempt_at=None,
                )
            else:
                final = attempts >= self._policy.max_attempts
                pause = webhooks.backoff_seconds(
                    attempts, base=self._policy.backoff_s, cap=self._policy.backoff_max_s
                )
                outcome = replace(
                    delivery,
                    state=FAILED if final else PENDING,
                    attempts=attempts,
                    last_status_code=status,
                    last_error=error or f"HTTP {status}",
                    last_attempt_at=now,
                    next_attempt_at=None if final else now + timedelta(seconds=pause),
                )
            failures = await self._store.record_result(webhook.webhook_id, ok)
            if not ok and failures >= self._policy.disable_after:
                await self._disable(webhook, failures)
            if outcome.state == PENDING:
                # Disabled while this attempt was in flight: no retry.
                current = await self._store.by_id(webhook.webhook_id)
                if current is None or not current.enabled:
                    outcome = replace(outcome, state=CANCELLED, next_attempt_at=None)
            await self._store.finish_attempt(outcome)

    async def _send(self, delivery: Delivery, webhook: Webhook, now: datetime) -> tuple[int, str]:
        secrets_ = await self._store.secrets(webhook.webhook_id, now, self._policy.rotation_grace)
        body = webhooks.body(
            delivery_id=delivery.delivery_id,
            event_type=delivery.event_type,
            event_id=delivery.source_event_id,
            occurred_at=delivery.occurred_at.isoformat().replace("+00:00", "Z"),
            data=delivery.data,
        )
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            webhooks.H_DELIVERY: delivery.delivery_id,
            webhooks.H_EVENT: webhooks.EVENT_NAMES[delivery.event_type],
            webhooks.H_TIMESTAMP: str(timestamp),
            webhooks.H_SIGNATURE: webhooks.signature_header(secrets_, timestamp, body),
        }
        return await self._sender.post(webhook.url, body, headers, self._policy.timeout_s)

    async def _disable(self, webhook: Webhook, failures: int) -> None:
        reason = f"disabled after {failures} failed deliveries in a row"
        if not await self._store.set_enabled(
            webhook.webhook_id, False, reason, self._clock(), only_if_enabled=True
        ):
            return
        await self._store.cancel_pending(webhook.webhook_id)
        _log.warning("webhook disabled", webhook_id=webhook.webhook_id, failures=failures)
        host = urlsplit(webhook.url).hostname or "its endpoint"

        def words(_kind: Kind, reason_: Reason) -> Template:
            return Template(
                kind=Kind.WEBHOOK_DISABLED,
                reason=reason_,
                title=texts.title(
                    f"Your organisation's webhook to {host} was disabled after "
                    f"{failures} failed deliveries"
                ),
                webhook_id=webhook.webhook_id,
            )

        await self._fanout.deliver(
            Happening(
                source_event_id=f"webhook-{webhook.webhook_id}-disabled-{new_id()}",
                activity=Activity.WEBHOOK_DISABLED,
                space_id="",
                subject=f"webhook-disabled:{webhook.webhook_id}:{new_id()}",
                texts=words,
                direct={webhook.created_by: frozenset({Relation.SELF})},
                about_own_access=True,
            )
        )
