"""structlog configured to write one JSON object per line to stdout.

Every line carries the service name and, when a span is active, the
OpenTelemetry ``trace_id`` and ``span_id``, so logs join up with traces.
Standard-library loggers (grpc, aiokafka, pymongo) go through the same
renderer.

Two things are kept out of the logs on purpose:

- **frame locals**: tracebacks are rendered as frames (file, line, function)
  without the variables of each frame, which would otherwise carry the
  caller's principal, tokens and request contents into the log;
- **floods**: a library that repeats the same line (aiokafka's "Unable connect
  to node" during a broker outage wrote thousands) is cut to
  :data:`REPEATS_PER_WINDOW` lines per logger, level and message per
  :data:`WINDOW_SECONDS`; the next line let through after a cut carries
  ``suppressed_repeats`` with the count.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import MutableMapping
from typing import Any, Final

import structlog
from opentelemetry import trace


def _add_trace_ids(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event_dict["trace_id"] = format(ctx.trace_id, "032x")
        event_dict["span_id"] = format(ctx.span_id, "016x")
    return event_dict


REPEATS_PER_WINDOW: Final = 5
WINDOW_SECONDS: Final = 60.0

# Tracebacks as frames only: never the local variables of a frame (principals, tokens).
_tracebacks = structlog.processors.ExceptionRenderer(
    structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
)


class RepeatFilter(logging.Filter):
    """Lets through at most ``limit`` records per (logger, level, message) per ``window`` s.

    The message is the record's unformatted ``msg``, so "Unable connect to node
    with id %s" repeats whatever the node. The first record let through after
    some were dropped carries ``suppressed_repeats`` (how many).
    """

    def __init__(
        self,
        limit: int = REPEATS_PER_WINDOW,
        window: float = WINDOW_SECONDS,
        clock: Any = time.monotonic,
    ) -> None:
        super().__init__()
        self._limit, self._window, self._clock = limit, window, clock
        self._seen: dict[tuple[str, int, str], tuple[float, int, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        with self._lock:
            start, count, dropped = self._seen.get(key, (now, 0, 0))
            if now - start >= self._window:
                start, count = now, 0
            if count >= self._limit:
                self._seen[key] = (start, count, dropped + 1)
                return False
            self._seen[key] = (start, count + 1, 0)
            if len(self._seen) > 10_000:  # many distinct messages: forget the oldest windows
                for stale in [k for k, (t, _, _) in self._seen.items() if now - t >= self._window]:
                    del self._seen[stale]
        if dropped:
            record.suppressed_repeats = dropped
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route structlog and stdlib logging to JSON lines on stdout. Idempotent."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_ids,
    ]
    structlog.configure(
        processors=[
            *shared,
            _tracebacks,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                _tracebacks,
                structlog.processors.JSONRenderer(),
            ],
            foreign_pre_chain=[
                *shared,
                structlog.stdlib.add_logger_name,
                structlog.stdlib.ExtraAdder({"suppressed_repeats"}),
            ],
        )
    )
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Chatty libraries: their INFO lines are connection churn, not events.
    for noisy in ("aiokafka", "kafka", "pymongo"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A structlog logger; ``name`` becomes the ``logger`` field."""
    log: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return log
