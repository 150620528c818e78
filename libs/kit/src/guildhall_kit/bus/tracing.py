"""W3C trace context across Kafka: inject on publish, extract on consume.

The bus always uses the W3C TraceContext propagator, whatever global
propagator the process configured: the wire contract is exactly the
``traceparent`` and ``tracestate`` headers, nothing else (no baggage).
"""

from __future__ import annotations

from typing import Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT: Final = "traceparent"
TRACESTATE: Final = "tracestate"
TRACER_NAME: Final = "guildhall_kit.bus"

_PROPAGATOR: Final = TraceContextTextMapPropagator()


def current_trace_headers(
    context: otel_context.Context | None = None,
) -> tuple[str | None, str | None]:
    """``(traceparent, tracestate)`` of ``context`` (default: the current one).

    Both are ``None`` when there is no valid span in the context (nothing to continue).
    """
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=context)
    return carrier.get(TRACEPARENT), carrier.get(TRACESTATE)


def context_from(traceparent: str | None, tracestate: str | None) -> otel_context.Context:
    """A context whose parent span is the one ``traceparent`` names.

    An absent or malformed ``traceparent`` yields an empty context (a new trace
    starts), never an error: tracing must not make a message undeliverable.
    """
    carrier: dict[str, str] = {}
    if traceparent:
        carrier[TRACEPARENT] = traceparent
        if tracestate:
            carrier[TRACESTATE] = tracestate
    return _PROPAGATOR.extract(carrier, context=otel_context.Context())


def get_tracer(provider: trace.TracerProvider | None) -> trace.Tracer:
    """The bus's tracer from ``provider`` (default: the global provider)."""
    return trace.get_tracer(TRACER_NAME, tracer_provider=provider)
