"""Every JSON log line written inside a span carries that span's trace_id and span_id.

Requests (the gRPC server instrumentation's span) and event handlers (the bus's
``process`` span) make their span current, so this is what their lines carry;
lines outside any span carry neither.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider

from guildhall_kit.logging import REPEATS_PER_WINDOW, RepeatFilter, configure_logging, get_logger


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """configure_logging is process-wide: put back what the test replaced.

    Its handler and structlog's print logger hold the stdout that capsys swaps
    in; left in place, every later log line in the session would write to that
    closed capture and fail with "I/O operation on closed file".
    """
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    config = structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**config)
    structlog.contextvars.clear_contextvars()


def test_structlog_and_stdlib_lines_inside_a_span_carry_its_ids(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("testsvc", "INFO")
    tracer = TracerProvider().get_tracer("test")
    log = get_logger("kit.test")
    with tracer.start_as_current_span("handle request") as outer:
        log.info("in the request")
        with tracer.start_as_current_span("process event") as inner:
            log.warning("in the handler", n=1)
            logging.getLogger("some.library").warning("a library line")
    log.info("outside")
    lines = _lines(capsys.readouterr().out)
    by_event = {str(line["event"]): line for line in lines}
    outer_ctx, inner_ctx = outer.get_span_context(), inner.get_span_context()
    assert by_event["in the request"]["trace_id"] == format(outer_ctx.trace_id, "032x")
    assert by_event["in the request"]["span_id"] == format(outer_ctx.span_id, "016x")
    for event in ("in the handler", "a library line"):
        assert by_event[event]["trace_id"] == format(inner_ctx.trace_id, "032x")
        assert by_event[event]["span_id"] == format(inner_ctx.span_id, "016x")
        assert by_event[event]["service"] == "testsvc"
    assert "trace_id" not in by_event["outside"]
    assert "span_id" not in by_event["outside"]


def _fail_with_secrets(token: str) -> None:
    principal = {"subject": "vic", "org": "acme", "token": token}
    raise ValueError(f"lookup failed for {len(principal)} claims")


def test_a_traceback_names_frames_but_never_their_locals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A failing request's traceback shows where it failed, never the caller's token."""
    configure_logging("testsvc", "INFO")
    secret = "eyJhbGciOi.secret-token-1234"
    try:
        _fail_with_secrets(secret)
    except ValueError:
        get_logger("kit.test").exception("unhandled error in rpc")
        logging.getLogger("some.library").exception("a library's failure")
    out = capsys.readouterr().out
    lines = _lines(out)
    assert [line["event"] for line in lines] == ["unhandled error in rpc", "a library's failure"]
    assert "_fail_with_secrets" in out  # the frame is there
    assert "lookup failed for 3 claims" in out
    for leaked in (secret, "secret-token", '"vic"', "acme"):
        assert leaked not in out, f"{leaked} reached the log"


def test_a_flood_of_one_library_line_is_cut_to_a_few(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("testsvc", "INFO")
    kafka = logging.getLogger("aiokafka.conn")
    for attempt in range(1000):
        kafka.warning("Unable connect to node with id %s: %s", attempt % 3, "refused")
    logging.getLogger("aiokafka.conn").warning("another message")
    lines = _lines(capsys.readouterr().out)
    flood = [line for line in lines if str(line["event"]).startswith("Unable connect")]
    assert len(flood) == REPEATS_PER_WINDOW
    assert [line["event"] for line in lines][-1] == "another message"


def test_after_the_window_the_next_line_says_how_many_were_cut() -> None:
    now = [0.0]
    repeat = RepeatFilter(limit=2, window=10.0, clock=lambda: now[0])

    def record() -> logging.LogRecord:
        return logging.LogRecord("aiokafka", logging.WARNING, __file__, 1, "down %s", (1,), None)

    passed = [repeat.filter(record()) for _ in range(5)]
    assert passed == [True, True, False, False, False]
    now[0] = 10.5
    later = record()
    assert repeat.filter(later)
    assert getattr(later, "suppressed_repeats", None) == 3
