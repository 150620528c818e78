"""The local platform launcher behind ``make run`` / ``make stop`` / ``make status``.

``up`` starts every service as its own process (``python -m guildhall_<name>``)
against the local Kafka and FerretDB, waits until each reports SERVING on the
standard gRPC health check, seeds demo data, and prints where each listens.
Processes outlive the command; pids are in ``.local/run``, logs in
``.local/log``. Local use only: everything binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from guildhall_kit.grpc.server import LIVENESS_SERVICE


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    grpc_port: int
    http_port: int | None = None
    metrics_port: int = 0


SERVICES = (
    # One host: each service scrapes on a port of its own (9464 in containers).
    ServiceSpec("profile", 50051, metrics_port=9464),
    ServiceSpec("community", 50052, metrics_port=9465),
    ServiceSpec("post", 50053, metrics_port=9466),
    ServiceSpec("notification", 50054, metrics_port=9467),
    ServiceSpec("gateway", 50055, http_port=8080, metrics_port=9468),
)

KAFKA = os.environ.get("GUILDHALL_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
MONGO = os.environ.get("GUILDHALL_MONGO_URI", "mongodb://127.0.0.1:27027/")
KEYCLOAK_ISSUER = (
    f"http://127.0.0.1:{os.environ.get('GUILDHALL_KEYCLOAK_PORT', '18080')}/realms/guildhall"
)


def _root() -> Path:
    return Path(os.environ.get("GUILDHALL_ROOT", Path.cwd()))


def _pidfile(name: str) -> Path:
    return _root() / ".local" / "run" / f"svc-{name}.pid"


def _logfile(name: str) -> Path:
    return _root() / ".local" / "log" / f"svc-{name}.log"


def _running_pid(name: str) -> int | None:
    path = _pidfile(name)
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


async def health_status(port: int, service: str = "", timeout_s: float = 1.0) -> str:
    """The health status name of ``service`` at 127.0.0.1:port, or ``DOWN``."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub: Any = health_pb2_grpc.HealthStub(channel)
        try:
            reply = await stub.Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout_s
            )
        except grpc.aio.AioRpcError:
            return "DOWN"
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


def _env_for(spec: ServiceSpec) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GUILDHALL_KAFKA_BOOTSTRAP_SERVERS=KAFKA,
        GUILDHALL_MONGO_URI=MONGO,
        GUILDHALL_GRPC_HOST="127.0.0.1",
        GUILDHALL_GRPC_PORT=str(spec.grpc_port),
        GUILDHALL_METRICS_PORT=str(spec.metrics_port),
        GUILDHALL_ROOT=str(_root()),
    )
    if spec.http_port is not None:
        env["GUILDHALL_HTTP_PORT"] = str(spec.http_port)
    if spec.name == "gateway":
        # `make token` and bench/demo.py tokens; never in production (the gateway refuses).
        env.setdefault("GUILDHALL_DEV_ISSUER_ENABLED", "true")
        if os.environ.get("GUILDHALL_INFRA_KEYCLOAK", "1") != "0":
            # People also sign in through the local Keycloak (deploy/local/keycloak).
            env.setdefault("GUILDHALL_OIDC_ISSUER", KEYCLOAK_ISSUER)
            env.setdefault("GUILDHALL_OIDC_CLAIM_PERSON", "preferred_username")
            env.setdefault("GUILDHALL_OIDC_CLAIM_ROLES", "realm_access.roles")
            env.setdefault("GUILDHALL_OIDC_ADMIN_ROLES", "guildhall-admin")
    for spec_other in SERVICES:
        env.setdefault(
            f"GUILDHALL_{spec_other.name.upper()}_ADDR", f"127.0.0.1:{spec_other.grpc_port}"
        )
    return env


def _start(spec: ServiceSpec) -> int:
    pid = _running_pid(spec.name)
    if pid is not None:
        return pid
    _logfile(spec.name).parent.mkdir(parents=True, exist_ok=True)
    _pidfile(spec.name).parent.mkdir(parents=True, exist_ok=True)
    with _logfile(spec.name).open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, our own module
            [sys.executable, "-m", f"guildhall_{spec.name}"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_env_for(spec),
            start_new_session=True,
        )
    _pidfile(spec.name).write_text(str(proc.pid))
    return proc.pid


async def _wait_serving(spec: ServiceSpec, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    status = "DOWN"
    while time.monotonic() < deadline:
        status = await health_status(spec.grpc_port)
        if status == "SERVING":
            return status
        if _running_pid(spec.name) is None:
            return "EXITED"
        await asyncio.sleep(0.3)
    return status


async def up(timeout_s: float) -> int:
    for spec in SERVICES:
        _start(spec)
    failed = []
    for spec in SERVICES:
        status = await _wait_serving(spec, timeout_s)
        where = f"grpc 127.0.0.1:{spec.grpc_port}"
        if spec.http_port:
            where += f", http http://127.0.0.1:{spec.http_port}"
        print(f"  {spec.name:<13} {status:<12} {where}")
        if status != "SERVING":
            failed.append(spec.name)
    if failed:
        for name in failed:
            print(f"  {name}: see {_logfile(name)}", file=sys.stderr)
        return 1
    _seed_demo()
    print("Platform up. `make token` mints a dev access token; `make stop` stops the services.")
    if os.environ.get("GUILDHALL_INFRA_KEYCLOAK", "1") != "0":
        print(
            f"Keycloak ({KEYCLOAK_ISSUER}): alice, bob, carol (employees), vera, vic (acme)\n"
            "  sign in with password <name>-dev-password; a token for a script:\n"
            f"  curl -s -d grant_type=password -d client_id=guildhall-tests -d username=vera "
            f"-d password=vera-dev-password {KEYCLOAK_ISSUER}/protocol/openid-connect/token"
        )
    return 0


def _seed_demo() -> None:
    """Seed demo data once, if the demo seeder is installed (bench package)."""
    seeder = _root() / "bench" / "demo.py"
    if seeder.exists():
        subprocess.run([sys.executable, str(seeder)], check=False)  # noqa: S603 - our own script


def down(timeout_s: float = 25.0) -> int:
    for spec in SERVICES:
        pid = _running_pid(spec.name)
        if pid is None:
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _running_pid(spec.name) is not None:
            time.sleep(0.1)
        if _running_pid(spec.name) is not None:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        _pidfile(spec.name).unlink(missing_ok=True)
        print(f"  {spec.name:<13} stopped")
    return 0


async def status() -> int:
    worst = 0
    for spec in SERVICES:
        ready = await health_status(spec.grpc_port)
        live = await health_status(spec.grpc_port, LIVENESS_SERVICE)
        print(
            f"  {spec.name:<13} readiness={ready:<12} liveness={live:<8} "
            f"grpc 127.0.0.1:{spec.grpc_port}"
        )
        if ready != "SERVING":
            worst = 1
    return worst


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    if args.command == "up":
        sys.exit(asyncio.run(up(args.timeout)))
    if args.command == "down":
        sys.exit(down())
    sys.exit(asyncio.run(status()))


if __name__ == "__main__":
    main()
