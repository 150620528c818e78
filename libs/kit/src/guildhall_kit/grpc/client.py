"""Client side: channels with sane defaults, and per-call deadlines.

Every outgoing call states its deadline at the call site (``timeout=``); the
retry policy below retries only methods declared idempotent, only on
UNAVAILABLE, with backoff.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import grpc


def _service_config(idempotent_services: Sequence[str]) -> str:
    policy = {
        "methodConfig": [
            {
                "name": [{"service": s} for s in idempotent_services],
                "retryPolicy": {
                    "maxAttempts": 4,
                    "initialBackoff": "0.05s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
    return json.dumps(policy)


def make_channel(target: str, *, idempotent_services: Sequence[str] = ()) -> grpc.aio.Channel:
    """An insecure channel (mesh/mTLS is the platform's job) with keepalive and
    UNAVAILABLE retries for the listed services, whose methods must be idempotent
    (reads, checks). Does not connect until the first call."""
    options: list[tuple[str, object]] = [
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.enable_retries", 1),
    ]
    if idempotent_services:
        options.append(("grpc.service_config", _service_config(idempotent_services)))
    return grpc.aio.insecure_channel(target, options=options)


def call_options(token: str | None, timeout_s: float) -> dict[str, object]:
    """Keyword arguments for one stub call: its deadline and bearer token."""
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    return {"timeout": timeout_s, "metadata": metadata}
