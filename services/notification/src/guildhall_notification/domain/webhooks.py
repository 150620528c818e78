"""Webhook rules: secrets, signatures, retry schedule, endpoint policy, payloads.

A delivery is an HTTP POST of a JSON body with these headers::

    Guildhall-Delivery:   <delivery id>
    Guildhall-Event:      <event type, e.g. post.created>
    Guildhall-Timestamp:  <unix seconds>
    Guildhall-Signature:  v1=<hex>[,v1=<hex>]

Each ``v1`` value is HMAC-SHA256 under one secret of ``"<timestamp>.<body>"``
(the raw body bytes). After a rotation the previous secret also signs for a
grace period, so a receiver that still holds it keeps verifying. Receivers
compare in constant time and refuse timestamps older than a few minutes
(replay protection): :func:`verify` does exactly that.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import random
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import urlsplit

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - the prefix every secret shows, not a secret
SIGNATURE_VERSION: Final = "v1"
H_DELIVERY: Final = "Guildhall-Delivery"
H_EVENT: Final = "Guildhall-Event"
H_TIMESTAMP: Final = "Guildhall-Timestamp"
H_SIGNATURE: Final = "Guildhall-Signature"


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 32 random bytes, URL-safe base64."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 (hex) of ``"<timestamp>.<body>"`` under ``secret``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secrets_: Sequence[str], timestamp: int, body: bytes) -> str:
    """The Guildhall-Signature value: one ``v1=`` per secret, newest first."""
    return ",".join(f"{SIGNATURE_VERSION}={signature(s, timestamp, body)}" for s in secrets_)


def verify(
    secret: str, header: str, timestamp: int, body: bytes, *, now: int, tolerance_s: int = 300
) -> bool:
    """What a receiver does: some ``v1`` in ``header`` matches, and the timestamp is recent."""
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body)
    for part in header.split(","):
        version, _, value = part.strip().partition("=")
        if version == SIGNATURE_VERSION and hmac.compare_digest(value, expected):
            return True
    return False


def backoff_seconds(
    attempts: int, *, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Pause before the next attempt after ``attempts`` failed ones: exponential, capped,
    with jitter (a random value between half and all of the exponential pause), so
    many failing deliveries do not retry in lockstep."""
    if attempts < 1:
        return 0.0
    ceiling = min(cap, base * 2 ** (attempts - 1))
    draw = (rng or random).uniform(0.5, 1.0)
    return float(ceiling * draw)


class EndpointRefused(ValueError):  # noqa: N818 - reads as the answer it is
    """An endpoint URL the service will not call; the message says why."""


def check_endpoint(url: str, *, allow_http: bool, allow_private: bool) -> str:
    """``url`` if deliveries may go there.

    Only https (http too when ``allow_http``), no credentials in the URL, and,
    unless ``allow_private``, no literal loopback, private, link-local or
    reserved address (the service must not be turned against its own network).

    Raises:
        EndpointRefused: naming the problem.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not allow_http):
        raise EndpointRefused("must be an https URL")
    if not parts.hostname:
        raise EndpointRefused("must name a host")
    if parts.username or parts.password:
        raise EndpointRefused("must not carry credentials")
    host = parts.hostname
    if not allow_private:
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            raise EndpointRefused("must not point at a local host")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return url
        if not address.is_global:
            raise EndpointRefused("must not point at a private or reserved address")
    return url


EVENT_NAMES: Final = {
    "post_created": "post.created",
    "post_edited": "post.edited",
    "post_deleted": "post.deleted",
    "comment_added": "comment.added",
    "answer_posted": "answer.posted",
    "answer_accepted": "answer.accepted",
    "wiki_revised": "wiki.revised",
    "idea_status_changed": "idea.status_changed",
    "pinhole_granted": "pinhole.granted",
    "pinhole_revoked": "pinhole.revoked",
    "pinhole_closed": "pinhole.closed",
}
"""Webhook event types (the contract's WebhookEventType, lower case) -> the name sent."""


def body(
    *, delivery_id: str, event_type: str, event_id: str, occurred_at: str, data: Mapping[str, Any]
) -> bytes:
    """The JSON body of a delivery (keys sorted, UTF-8), built from the pinhole's facts only."""
    document = {
        "id": delivery_id,
        "type": EVENT_NAMES[event_type],
        "event_id": event_id,
        "occurred_at": occurred_at,
        "data": dict(data),
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
