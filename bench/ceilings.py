"""The raw ceilings the platform benchmark compares its figures with (bench.mix).

Each is the bare component on this machine, measured in the same run as the mix:

- ``grpc echo``: a grpc.aio server answering a unary call with its request (its own
  process), driven by 32 concurrent calls from this process;
- ``http echo``: FastAPI on uvicorn, the gateway's server stack, answering a small
  JSON document (its own process), stepped up by vegeta like the mix;
- ``db find by _id`` / ``db insert``: the MongoDB-protocol server, 32 concurrent
  operations;
- ``redis get`` / ``redis set``: the local Redis, 32 concurrent commands (when it
  answers and the client library is installed);
- ``kafka produce`` (acks=all, 5,000 small messages) and ``kafka produce -> consume``
  (one message at a time, so the latency of the path).

``python -m bench.ceilings grpc-server PORT`` and ``http-server PORT`` are the two
echo servers; everything else runs from :func:`measure`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

GRPC_METHOD = "/bench.Echo/Echo"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def closed_loop(
    call: Callable[[], Awaitable[Any]], *, concurrency: int = 32, seconds: float = 3.0
) -> dict[str, float]:
    """Operations/s and latency of ``call`` with ``concurrency`` callers for ``seconds``."""
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < stop:
            began = time.perf_counter()
            await call()
            latencies.append((time.perf_counter() - began) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    return {
        "ops_per_s": len(latencies) / elapsed,
        "p50_ms": _pct(latencies, 0.5),
        "p99_ms": _pct(latencies, 0.99),
    }


# --- the echo servers (child processes) ------------------------------------------------


async def _grpc_server(port: int) -> None:
    import grpc

    async def echo(request: bytes, _context: Any) -> bytes:
        return request

    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def _http_server(port: int) -> None:
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/echo")
    async def echo() -> dict[str, str]:
        return {"echo": "ok"}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _spawn(kind: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - this module, our arguments
        [sys.executable, "-m", "bench.ceilings", kind, str(port)]
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the {kind} did not start")


# --- the measurements ---------------------------------------------------------------------


async def grpc_echo(seconds: float) -> dict[str, float]:
    import grpc

    proc, port = _spawn("grpc-server")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call: Any = channel.unary_unary(GRPC_METHOD)
            payload = b"x" * 200
            return await closed_loop(lambda: call(payload, timeout=5), seconds=seconds)
    finally:
        proc.terminate()
        proc.wait(10)


def http_echo(step: Callable[[str, list[int]], dict[str, Any]], rates: list[int]) -> dict[str, Any]:
    """The HTTP server stack stepped up like the mix: ``step(url, rates)`` runs vegeta."""
    proc, port = _spawn("http-server")
    try:
        return step(f"http://127.0.0.1:{port}/echo", rates)
    finally:
        proc.terminate()
        proc.wait(10)


async def database(uri: str, seconds: float) -> dict[str, dict[str, float]]:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, retryWrites=False)
    coll = client["bench_ceilings"]["docs"]
    try:
        await coll.drop()
        await coll.insert_many([{"_id": f"d{i}", "body": "x" * 500} for i in range(1000)])
        n = 0

        async def find() -> None:
            nonlocal n
            n += 1
            await coll.find_one({"_id": f"d{n % 1000}"})

        async def insert() -> None:
            nonlocal n
            n += 1
            await coll.insert_one({"_id": f"n{n}", "body": "x" * 500})

        return {
            "db find by _id": await closed_loop(find, seconds=seconds),
            "db insert": await closed_loop(insert, seconds=seconds),
        }
    finally:
        await coll.drop()
        await client.close()


async def redis(url: str, seconds: float) -> dict[str, dict[str, float]]:
    try:
        from redis.asyncio import Redis
    except ImportError:
        return {}
    client = Redis.from_url(url)
    try:
        await client.ping()
    except Exception:  # noqa: BLE001 - no Redis here: no ceiling, said in the report
        await client.aclose()
        return {}
    try:
        await client.set("bench:key", "x" * 500)
        return {
            "redis get": await closed_loop(lambda: client.get("bench:key"), seconds=seconds),
            "redis set": await closed_loop(
                lambda: client.set("bench:key", "x" * 500), seconds=seconds
            ),
        }
    finally:
        await client.aclose()


async def kafka(bootstrap: str) -> dict[str, dict[str, float]]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    topic = f"bench-ceiling-{int(time.time())}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="latest", group_id=None
    )
    try:
        await producer.send_and_wait(topic, b"warm-up")
        began = time.perf_counter()
        futures = [await producer.send(topic, b"x" * 300) for _ in range(5000)]
        await asyncio.gather(*futures)
        produce = {"ops_per_s": 5000 / (time.perf_counter() - began)}
        await consumer.start()
        await asyncio.sleep(1.0)  # partitions assigned at the end of the log
        latencies = []
        for i in range(200):
            sent = time.perf_counter()
            await producer.send_and_wait(topic, f"m{i}".encode())
            while True:
                msg = await consumer.getone()
                if msg.value == f"m{i}".encode():
                    break
            latencies.append((time.perf_counter() - sent) * 1000)
        path = {
            "ops_per_s": 1000 / _pct(latencies, 0.5),
            "p50_ms": _pct(latencies, 0.5),
            "p99_ms": _pct(latencies, 0.99),
        }
        return {"kafka produce": produce, "kafka produce -> consume": path}
    finally:
        await consumer.stop()
        await producer.stop()
        await admin.delete_topics([topic])
        await admin.close()


async def measure(seconds: float) -> dict[str, dict[str, float]]:
    """Every ceiling but the HTTP echo (which needs the load tool; see bench.mix)."""
    out: dict[str, dict[str, float]] = {}
    out["grpc echo"] = await grpc_echo(seconds)
    out.update(await database(os.environ["GUILDHALL_MONGO_URI"], seconds))
    out.update(
        await redis(os.environ.get("GUILDHALL_REDIS_URL", "redis://127.0.0.1:16379/0"), seconds)
    )
    out.update(await kafka(os.environ["GUILDHALL_KAFKA_BOOTSTRAP_SERVERS"]))
    return out


def main(argv: list[str]) -> int:
    kind, port = argv[0], int(argv[1])
    if kind == "grpc-server":
        asyncio.run(_grpc_server(port))
    elif kind == "http-server":
        _http_server(port)
    else:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
