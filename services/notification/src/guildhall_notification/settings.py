"""Settings of the notification service (``GUILDHALL_*`` environment variables)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, ClassVar

from pydantic import Field, field_validator, model_validator

from guildhall_kit.settings import ServiceSettings

DEV_WEBHOOK_KEY = base64.b64encode(b"guildhall-dev-webhook-key-32-byt").decode()
"""A fixed key for local development and tests only; every deployment sets its own."""


class NotificationSettings(ServiceSettings):
    """The kit's shared settings plus the notification service's own."""

    service_name: ClassVar[str] = "notification"
    grpc_port: int = 50054

    community_addr: str = "127.0.0.1:50052"
    """``GUILDHALL_COMMUNITY_ADDR``: the community service, asked CheckAccess/ListSpaces
    (with this service's own token) about partner users before anything reaches them."""

    community_deadline_seconds: Annotated[float, Field(gt=0, le=60)] = 2.0
    """``GUILDHALL_COMMUNITY_DEADLINE_SECONDS``: deadline of each call to the community
    service; a call that fails or times out means "no access" (never fails open)."""

    access_check_concurrency: Annotated[int, Field(ge=1, le=1000)] = 32
    """``GUILDHALL_ACCESS_CHECK_CONCURRENCY``: CheckAccess calls in flight at once while
    deciding the partner recipients of one event."""

    stream_poll_seconds: Annotated[float, Field(gt=0, le=300)] = 5.0
    """``GUILDHALL_STREAM_POLL_SECONDS``: how often an open live stream reads the inbox
    even when no wake-up arrived (the fallback if a wake-up is lost)."""

    stream_batch: Annotated[int, Field(ge=1, le=1000)] = 100
    """``GUILDHALL_STREAM_BATCH``: notifications read per inbox read of a live stream."""

    fanout_chunk: Annotated[int, Field(ge=1, le=1000)] = 500
    """``GUILDHALL_FANOUT_CHUNK``: recipients per NotificationsRouted message (one
    shard's insert batch)."""

    default_answer_sla_seconds: Annotated[float, Field(gt=0, le=30 * 86_400)] = 4 * 3600.0
    """``GUILDHALL_DEFAULT_ANSWER_SLA_SECONDS``: how long a question waits for an answer
    before each escalation, where its space's owners set nothing else (4 hours)."""

    experts_per_step: Annotated[int, Field(ge=1, le=100)] = 3
    """``GUILDHALL_EXPERTS_PER_STEP``: experts asked at each expert step of the chain."""

    expert_max_open: Annotated[int, Field(ge=1, le=1000)] = 5
    """``GUILDHALL_EXPERT_MAX_OPEN``: an expert already holding this many open routed
    questions is skipped."""

    routing_tick_seconds: Annotated[float, Field(gt=0, le=3600)] = 5.0
    """``GUILDHALL_ROUTING_TICK_SECONDS``: how often due escalations are looked for (the
    timers themselves are stored in MongoDB and survive restarts)."""

    digest_check_seconds: Annotated[float, Field(gt=0, le=86_400)] = 300.0
    """``GUILDHALL_DIGEST_CHECK_SECONDS``: how often people due a digest are looked for."""

    digest_inactive_after_seconds: Annotated[float, Field(ge=0, le=90 * 86_400)] = 86_400.0
    """``GUILDHALL_DIGEST_INACTIVE_AFTER_SECONDS``: a person gets digests only after this
    long without activity (one day)."""

    digest_link_base: str = "https://guildhall.example/notifications"
    """``GUILDHALL_DIGEST_LINK_BASE``: the link to the inbox that digests end with."""

    smtp_host: str = ""
    """``GUILDHALL_SMTP_HOST``: the SMTP server digests are sent through; empty sends
    no digests (they are logged as skipped)."""

    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    """``GUILDHALL_SMTP_PORT``."""

    smtp_starttls: bool = True
    """``GUILDHALL_SMTP_STARTTLS``: upgrade the connection with STARTTLS (required by
    most relays; off for a local test server)."""

    smtp_username: str = ""
    """``GUILDHALL_SMTP_USERNAME``: login, when the relay needs one."""

    smtp_password: str = ""
    """``GUILDHALL_SMTP_PASSWORD``: password of ``smtp_username`` (from a Secret)."""

    smtp_from: str = "Guildhall <notifications@guildhall.example>"
    """``GUILDHALL_SMTP_FROM``: the sender of digests."""

    smtp_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    """``GUILDHALL_SMTP_TIMEOUT_SECONDS``: bound on connecting to and talking with the
    SMTP server; a slow server costs one digest this long, never the inbox."""

    webhook_secret_key: str = DEV_WEBHOOK_KEY
    """``GUILDHALL_WEBHOOK_SECRET_KEY``: base64 of 32 bytes; the AES-256-GCM key that
    webhook signing secrets are stored under (they must be usable for signing, so they
    are encrypted, not hashed). From a Secret in every deployment."""

    webhook_allow_http: bool = False
    """``GUILDHALL_WEBHOOK_ALLOW_HTTP``: accept http:// endpoints (local development)."""

    webhook_allow_private: bool = False
    """``GUILDHALL_WEBHOOK_ALLOW_PRIVATE``: accept endpoints on loopback or private
    addresses (local development and tests)."""

    webhook_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 5.0
    """``GUILDHALL_WEBHOOK_TIMEOUT_SECONDS``: bound on one delivery attempt."""

    webhook_max_attempts: Annotated[int, Field(ge=1, le=50)] = 8
    """``GUILDHALL_WEBHOOK_MAX_ATTEMPTS``: attempts per delivery before it fails."""

    webhook_backoff_seconds: Annotated[float, Field(gt=0, le=3600)] = 10.0
    """``GUILDHALL_WEBHOOK_BACKOFF_SECONDS``: the pause after a first failed attempt,
    doubled after each further one (with jitter)."""

    webhook_backoff_max_seconds: Annotated[float, Field(gt=0, le=86_400)] = 3600.0
    """``GUILDHALL_WEBHOOK_BACKOFF_MAX_SECONDS``: the longest pause between attempts."""

    webhook_disable_after_failures: Annotated[int, Field(ge=1, le=1000)] = 20
    """``GUILDHALL_WEBHOOK_DISABLE_AFTER_FAILURES``: failed attempts in a row (across
    deliveries) after which a webhook is disabled and its creator notified."""

    webhook_rotation_grace_seconds: Annotated[float, Field(ge=0, le=30 * 86_400)] = 86_400.0
    """``GUILDHALL_WEBHOOK_ROTATION_GRACE_SECONDS``: how long the previous secret still
    signs deliveries after a rotation."""

    webhook_tick_seconds: Annotated[float, Field(gt=0, le=3600)] = 1.0
    """``GUILDHALL_WEBHOOK_TICK_SECONDS``: how often due webhook deliveries are looked for."""

    webhook_concurrency: Annotated[int, Field(ge=1, le=1000)] = 16
    """``GUILDHALL_WEBHOOK_CONCURRENCY``: delivery attempts in flight at once."""

    @field_validator("webhook_secret_key")
    @classmethod
    def _key_is_32_bytes(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be base64") from None
        if len(raw) != 32:
            raise ValueError("must be base64 of exactly 32 bytes")
        return value

    @model_validator(mode="after")
    def _no_dev_key_in_production(self) -> NotificationSettings:
        if self.is_production and self.webhook_secret_key == DEV_WEBHOOK_KEY:
            raise ValueError(
                "GUILDHALL_WEBHOOK_SECRET_KEY must be set to a key of this deployment in production"
            )
        return self

    @field_validator("community_addr")
    @classmethod
    def _addr_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value
