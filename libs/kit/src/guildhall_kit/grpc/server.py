"""The grpc.aio server every service runs.

:class:`GrpcApp` owns the process life cycle:

- start: bind, register the service's servicers, the standard health and
  reflection services, then report SERVING once readiness checks pass;
- health: the overall service (``""``) and each registered service name are
  *readiness* (SERVING only while MongoDB and Kafka answer); the service
  ``guildhall.liveness`` is *liveness* (SERVING while the process runs and
  does not depend on MongoDB or Kafka), so Kubernetes restarts a wedged
  process but never one whose database is briefly away;
- background tasks (outbox relay, consumers) run beside the server and are
  cancelled on stop;
- SIGTERM/SIGINT: readiness goes NOT_SERVING at once while calls are still
  accepted for a short notice period (load balancers stop sending), then new
  calls are refused and in-flight RPCs get the rest of ``drain_seconds`` to
  finish; background tasks stop and the server exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from guildhall_kit.auth.identity import trusted_keys
from guildhall_kit.auth.tokens import TokenVerifier
from guildhall_kit.grpc.interceptor import RpcInterceptor
from guildhall_kit.logging import get_logger
from guildhall_kit.settings import ServiceSettings

LIVENESS_SERVICE = "guildhall.liveness"

_log = get_logger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]
"""Raises when a dependency is not ready; returns None when it is."""

Background = Callable[[], Awaitable[None]]
"""A long-running coroutine (relay, consumer loop); cancelled on stop."""

_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def load_verifier(settings: ServiceSettings) -> TokenVerifier:
    """The token verifier for the configured key set (dev key set when unset).

    Raises:
        ConfigError: no key set is configured in a production deployment.
    """
    return TokenVerifier(
        trusted_keys(settings),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        home_org_id=settings.home_org_id,
    )


class GrpcApp:
    """One service process: a gRPC server plus its background tasks."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        register: Callable[[grpc.aio.Server], Sequence[str]],
        readiness: Sequence[ReadinessCheck] = (),
        background: Sequence[Background] = (),
        verifier: TokenVerifier | None = None,
        readiness_interval_s: float = 2.0,
    ) -> None:
        """``register`` adds the servicers and returns their full service names."""
        self.settings = settings
        self._register = register
        self._readiness = list(readiness)
        self._background = list(background)
        self._verifier = verifier if verifier is not None else load_verifier(settings)
        self._interval = readiness_interval_s
        self.health = health.aio.HealthServicer()
        self._server: grpc.aio.Server | None = None
        self._service_names: list[str] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._draining = False
        self.ready = False
        self._ready_event = asyncio.Event()
        self.port = 0

    async def start(self) -> int:
        """Bind and start serving; returns the bound port. Readiness starts NOT_SERVING."""
        server = grpc.aio.server(
            interceptors=[
                RpcInterceptor(
                    self._verifier, default_deadline_s=self.settings.default_deadline_seconds
                )
            ],
            options=[("grpc.so_reuseport", 0)],
        )
        self._service_names = list(self._register(server))
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection(
            [*self._service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
        )
        self.port = server.add_insecure_port(f"{self.settings.grpc_host}:{self.settings.grpc_port}")
        if self.port == 0:
            raise OSError(
                f"cannot bind {self.settings.grpc_host}:{self.settings.grpc_port} "
                "(GUILDHALL_GRPC_HOST / GUILDHALL_GRPC_PORT)"
            )
        await server.start()
        self._server = server
        await self.health.set(LIVENESS_SERVICE, _SERVING)
        await self._set_readiness(_NOT_SERVING)
        self._tasks.append(asyncio.create_task(self._watch_readiness(), name="readiness"))
        for job in self._background:
            self._tasks.append(asyncio.create_task(self._supervise(job), name=job.__qualname__))
        _log.info("grpc server started", port=self.port, services=self._service_names)
        return self.port

    async def _set_readiness(self, status: Any) -> None:
        self.ready = status == _SERVING
        if self.ready:
            self._ready_event.set()
        else:
            self._ready_event.clear()
        for name in ("", *self._service_names):
            await self.health.set(name, status)

    async def _check_once(self) -> bool:
        for check in self._readiness:
            try:
                await asyncio.wait_for(check(), timeout=max(self._interval, 1.0))
            except Exception as exc:  # noqa: BLE001 - any failure means not ready
                _log.warning("not ready", check=getattr(check, "__qualname__", "?"), error=str(exc))
                return False
        return True

    async def _watch_readiness(self) -> None:
        ready: bool | None = None
        while not self._draining:
            now_ready = await self._check_once()
            if now_ready != ready and not self._draining:
                await self._set_readiness(_SERVING if now_ready else _NOT_SERVING)
                _log.info("readiness changed", serving=now_ready)
                ready = now_ready
            await asyncio.sleep(self._interval if ready else 0.2)

    async def _supervise(self, job: Background) -> None:
        """Run a background job; if it crashes, log and restart it after a pause."""
        while True:
            try:
                await job()
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a crashed loop is restarted, not fatal
                _log.exception("background task crashed; restarting", task=job.__qualname__)
                await asyncio.sleep(1.0)

    async def wait_ready(self, timeout_s: float = 30.0) -> None:
        """Block until readiness is SERVING. Raises TimeoutError."""
        async with asyncio.timeout(timeout_s):
            await self._ready_event.wait()

    async def stop(self, drain_s: float | None = None) -> None:
        """Drain and stop. Blocks for up to ``drain_s`` (default ``drain_seconds``).

        First readiness goes NOT_SERVING while the server keeps accepting calls
        (a quarter of the drain, at most 5 s), so load balancers and Kubernetes
        endpoints stop routing here before anything is refused; liveness stays
        SERVING. Then the server stops accepting new calls and in-flight RPCs get
        the rest of the drain to finish. Background tasks are cancelled last.
        """
        if self._server is None:
            return
        self._draining = True
        drain = self.settings.drain_seconds if drain_s is None else drain_s
        notice = min(drain / 4, 5.0)
        await self._set_readiness(_NOT_SERVING)
        _log.info("draining", notice_seconds=notice, grace_seconds=drain - notice)
        await asyncio.sleep(notice)
        await self._server.stop(grace=drain - notice)
        await self.health.enter_graceful_shutdown()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._server = None
        _log.info("stopped")

    async def run_until_signal(self) -> None:
        """Start, then serve until SIGTERM or SIGINT, then drain and stop."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        await stop.wait()
        _log.info("signal received; shutting down")
        await self.stop()
