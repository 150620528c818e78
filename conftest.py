"""Test configuration shared by every test in the repository.

Two kinds of tests live here:

- unit tests: pure logic, no I/O. A unit test that opens a network connection
  fails (the guard below), so a test cannot quietly depend on Kafka or MongoDB.
- integration tests, marked ``@pytest.mark.integration``: they talk to the real
  Kafka broker and FerretDB that ``make infra-up`` starts. If those are not
  reachable the tests fail with a message saying so; they are never skipped
  silently.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

DEFAULT_KAFKA = "127.0.0.1:19092"
DEFAULT_MONGO = "mongodb://127.0.0.1:27027/"


@dataclass(frozen=True)
class Infra:
    """Addresses of the real local infrastructure."""

    kafka_bootstrap_servers: str
    mongo_uri: str


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def infra() -> Infra:
    """The running Kafka and FerretDB; fails (not skips) when they are down."""
    kafka = os.environ.get("GUILDHALL_KAFKA_BOOTSTRAP_SERVERS", DEFAULT_KAFKA)
    mongo = os.environ.get("GUILDHALL_MONGO_URI", DEFAULT_MONGO)
    k_host, k_port = kafka.split(",")[0].rsplit(":", 1)
    m_hostport = mongo.split("://", 1)[1].split("/", 1)[0]
    m_host, m_port = m_hostport.rsplit(":", 1)
    missing = [
        name
        for name, host, port in (("Kafka", k_host, k_port), ("FerretDB", m_host, m_port))
        if not _reachable(host, int(port))
    ]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not reachable ({kafka}, {mongo}); run `make infra-up`",
            pytrace=False,
        )
    return Infra(kafka_bootstrap_servers=kafka, mongo_uri=mongo)


@pytest.fixture
def unique() -> str:
    """A short random token for topic, group and database names of one test."""
    return secrets.token_hex(4)


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local_unix(address: Any) -> bool:
    return isinstance(address, str | bytes)


@pytest.fixture(autouse=True)
def _network_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Unit tests may not open network connections; integration tests may."""
    if request.node.get_closest_marker("integration") is not None:
        yield
        return

    def guarded(self: socket.socket, address: Any) -> Any:
        if _is_local_unix(address):
            return _real_connect(self, address)
        raise RuntimeError(
            f"unit test {request.node.nodeid} tried to connect to {address!r}; "
            "mark it @pytest.mark.integration if it needs Kafka or MongoDB"
        )

    socket.socket.connect = guarded  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = _real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]
