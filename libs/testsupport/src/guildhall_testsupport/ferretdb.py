"""Scratch FerretDB servers of the patched and the unpatched build.

`make infra-up` (deploy/local/infra.py) builds FerretDB twice into ``.local/bin``:
``ferretdb`` with the patches in deploy/local/ferretdb/ and ``ferretdb-upstream``
without them. The differential test of the patches and their benchmark start
both with :func:`scratch_ferretdb`, each on a free 127.0.0.1 port with its own
SQLite directory, never touching the shared local server.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Literal

from pymongo import MongoClient
from pymongo.errors import PyMongoError

Build = Literal["patched", "upstream"]

ROOT = Path(__file__).resolve().parents[4]
INFRA = ROOT / "deploy" / "local" / "infra.py"

START_SECONDS = 30.0
STOP_SECONDS = 10.0


class FerretDBNotBuiltError(RuntimeError):
    """The binary of a build is missing or was built from other patches."""


def _infra() -> ModuleType:
    """deploy/local/infra.py, which knows the binaries, their stamps and command line."""
    name = "guildhall_local_infra"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, INFRA)
    if spec is None or spec.loader is None:
        raise FerretDBNotBuiltError(f"cannot load {INFRA}")
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses look their module up while the class is created.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def binary(build: Build) -> Path:
    """The binary of ``build``, checked against its build stamp.

    Raises FerretDBNotBuiltError (saying to run ``make infra-up``) if it is
    missing or stale, so a test never runs an old build by mistake.
    """
    infra = _infra()
    if build == "patched":
        path, built = Path(infra.FERRETDB_BIN), bool(infra.ferretdb_built())
    else:
        path, built = Path(infra.FERRETDB_UPSTREAM_BIN), bool(infra.ferretdb_upstream_built())
    if not built:
        raise FerretDBNotBuiltError(
            f"{path} is missing or not built from the current patches; run `make infra-up`"
        )
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _answers(uri: str) -> bool:
    client: MongoClient[dict[str, object]] = MongoClient(
        uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500
    )
    try:
        return bool(client.admin.command("ping").get("ok"))
    except PyMongoError:
        return False
    finally:
        client.close()


@dataclass(frozen=True)
class ScratchServer:
    """A running scratch FerretDB."""

    uri: str
    """Its MongoDB connection string."""

    pid: int
    """Its process id (its CPU time is in /proc/<pid>/stat)."""

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks


@contextlib.contextmanager
def scratch_ferretdb(
    build: Build, data: Path | None = None, *, start_seconds: float = START_SECONDS
) -> Iterator[ScratchServer]:
    """Run ``build`` until the block exits; yields its address and process.

    Its SQLite files live in ``data`` (kept, so a later server can open them) or
    in a temporary directory removed afterwards. Blocks until the server answers
    a ping; raises RuntimeError with its log's tail if it exits or does not
    answer within ``start_seconds`` (the patched build's first start on a
    database built without it rebuilds its indexes first). The server is
    stopped (SIGTERM, then SIGKILL) on exit.
    """
    path = binary(build)
    infra = _infra()
    with tempfile.TemporaryDirectory(prefix=f"ferretdb-{build}-") as scratch:
        data_dir = data if data is not None else Path(scratch) / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        state = Path(scratch) / "state"
        state.mkdir()
        log_path = Path(scratch) / "ferretdb.log"
        port = _free_port()
        argv = [str(a) for a in infra.ferretdb_command(path, data_dir, state, port)]
        uri = f"mongodb://127.0.0.1:{port}/"
        with log_path.open("wb") as log:
            # The argv names our own binary and scratch paths, never input.
            proc = subprocess.Popen(  # noqa: S603
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "DO_NOT_TRACK": "1"},
            )
        try:
            deadline = time.monotonic() + start_seconds
            while not _answers(uri):
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(errors="replace").splitlines()[-15:]
                    raise RuntimeError(
                        f"FerretDB ({build}) did not start on {uri}:\n" + "\n".join(tail)
                    )
                time.sleep(0.1)
            yield ScratchServer(uri=uri, pid=proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
