"""The local Kafka broker, FerretDB, Redis and Keycloak: build once, start, stop, report.

Usage (the Makefile's infra-* targets call this with the venv Python)::

    python deploy/local/infra.py build    # fetch Kafka jars, build FerretDB and Keycloak (once)
    python deploy/local/infra.py up       # build if needed, start all, wait until they answer
    python deploy/local/infra.py status   # exit 1 unless all answer
    python deploy/local/infra.py down     # SIGTERM, then SIGKILL after a timeout
    python deploy/local/infra.py reset    # down, then delete .local/data
    python deploy/local/infra.py env      # print the GUILDHALL_* variables as shell exports

Everything lives under ``.local/`` (ignored by git): Kafka jars in
``.local/kafka/libs``, the FerretDB binary in ``.local/bin`` (and beside it
``ferretdb-upstream``, the same version without the patches, which only the
patches' differential test and benchmark run), the Keycloak distribution in
``.local/keycloak/dist``, data in ``.local/data/{kafka,ferretdb,keycloak,redis}``,
logs in ``.local/log``, pid files in ``.local/run``. The servers listen on
127.0.0.1 only, run in their own
session so they outlive the ``make`` that started them, and are found again
by pid file or, if that is lost, by their command line (which names this
checkout's absolute paths, so another checkout's servers are never touched).
Starting one server never restarts or rebuilds another.

The pinned versions are the Kafka version in ``deploy/local/kafka/pom.xml``,
:data:`FERRETDB_VERSION` and the Keycloak version in
``deploy/local/keycloak/pom.xml``; docs/adr/0002-local-infra-versions.md and
docs/adr/0014-gateway-authentication.md say why. A build stamp records what
was built, so a bumped pin rebuilds on the next run.

Redis is Debian's ``redis-server`` (``make redis`` installs it when missing): the
services' cache (docs/adr/0021-cache-tier.md), so it keeps nothing on disk; its
configuration is written to ``.local/redis/redis.conf`` and named in its process
title, which is how a running one is recognised as this checkout's.

Keycloak is the OpenID Connect provider of local development and of the
gateway's authentication tests: the realm ``guildhall`` is imported from
``deploy/local/keycloak/guildhall-realm.json`` on its first start; the master
realm's ``admin`` password is in ``.local/keycloak/admin-password``.

Environment overrides: ``GUILDHALL_KAFKA_PORT`` (19092),
``GUILDHALL_KAFKA_CONTROLLER_PORT`` (19093), ``GUILDHALL_FERRETDB_PORT``
(27027), ``GUILDHALL_REDIS_PORT`` (16379), ``GUILDHALL_KEYCLOAK_PORT`` (18080),
``GUILDHALL_KEYCLOAK_MANAGEMENT_PORT`` (18081), ``GUILDHALL_INFRA_KEYCLOAK`` (1; 0 leaves
Keycloak out),
``GUILDHALL_INFRA_TIMEOUT`` (seconds to wait for each server, 120).

Only the standard library is imported at module level; the probes import
aiokafka and pymongo lazily, so ``down`` and ``reset`` work without the venv.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
FERRETDB_VERSION = "v1.24.2"

ROOT = Path(__file__).resolve().parents[2]
# Resolved: a second worktree may link its .local to the main checkout's, and the
# servers' command lines (how a server is recognised) name the resolved paths.
LOCAL = (ROOT / ".local").resolve()
LOG_DIR = LOCAL / "log"
RUN_DIR = LOCAL / "run"
DATA_DIR = LOCAL / "data"

KAFKA_POM = ROOT / "deploy" / "local" / "kafka" / "pom.xml"
KAFKA_LOG4J = ROOT / "deploy" / "local" / "kafka" / "log4j2.xml"
KAFKA_HOME = LOCAL / "kafka"
KAFKA_LIBS = KAFKA_HOME / "libs"
KAFKA_STAMP = KAFKA_HOME / "libs.stamp"
KAFKA_PROPERTIES = KAFKA_HOME / "config" / "server.properties"
KAFKA_DATA = DATA_DIR / "kafka"
KAFKA_FORMAT_RECORD = KAFKA_DATA / "guildhall-format.json"

KEYCLOAK_POM = ROOT / "deploy" / "local" / "keycloak" / "pom.xml"
KEYCLOAK_REALM = ROOT / "deploy" / "local" / "keycloak" / "guildhall-realm.json"
KEYCLOAK_HOME = LOCAL / "keycloak"
KEYCLOAK_DIST = KEYCLOAK_HOME / "dist"
KEYCLOAK_STAMP = KEYCLOAK_HOME / "dist.stamp"
KEYCLOAK_DATA = DATA_DIR / "keycloak"
KEYCLOAK_ADMIN_PASSWORD = KEYCLOAK_HOME / "admin-password"
KEYCLOAK_ADMIN_USER = "admin"
KEYCLOAK_REALM_NAME = "guildhall"
# Options fixed when the distribution is built (``kc.sh build``); the rest are
# given at start. Part of the build stamp: changing them rebuilds.
KEYCLOAK_BUILD_OPTIONS = (
    "--db=dev-file",
    # One node: local caches, no JGroups cluster discovery (much of a start's cost).
    "--cache=local",
    "--health-enabled=true",
    "--features-disabled=admin-fine-grained-authz,device-flow,ciba,par,kerberos,docker",
)

FERRETDB_PATCHES = ROOT / "deploy" / "local" / "ferretdb"
FERRETDB_BIN = LOCAL / "bin" / "ferretdb"
FERRETDB_STAMP = LOCAL / "bin" / "ferretdb.stamp"
# The same version without the patches: the reference the patches' differential test compares with.
FERRETDB_UPSTREAM_BIN = LOCAL / "bin" / "ferretdb-upstream"
FERRETDB_UPSTREAM_STAMP = LOCAL / "bin" / "ferretdb-upstream.stamp"
FERRETDB_DATA = DATA_DIR / "ferretdb"
FERRETDB_STATE = LOCAL / "state" / "ferretdb"

# The JVM settings of a development broker on a 2-core laptop: a small fixed
# heap so the broker never competes with the services for memory.
KAFKA_JVM_OPTS = (
    "-Xms256m",
    "-Xmx768m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)

# Keycloak on a 2-core laptop: a capped heap (its default is a share of the
# machine's memory). Measured figures: docs/adr/0014-gateway-authentication.md.
KEYCLOAK_HEAP_OPTS = "-Xms64m -Xmx512m -XX:MaxMetaspaceSize=256m"

# Kafka's controlled shutdown of a single combined node takes a few seconds;
# FerretDB closes its SQLite files at once; Keycloak stops in a few seconds.
# After these, SIGKILL.
KAFKA_STOP_SECONDS = 30.0
FERRETDB_STOP_SECONDS = 10.0
REDIS_STOP_SECONDS = 10.0
REDIS_DIR = LOCAL / "redis"
REDIS_CONF = REDIS_DIR / "redis.conf"
REDIS_DATA = DATA_DIR / "redis"
KEYCLOAK_STOP_SECONDS = 20.0
KEYCLOAK_FIRST_START_SECONDS = 600.0

PROGRESS_EVERY_SECONDS = 10.0


class InfraError(Exception):
    """A failure the user can act on; the message says what to do or where to look."""


# --- settings ----------------------------------------------------------------


def _env_int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InfraError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise InfraError(f"{name} must be between {low} and {high}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Ports and timeouts, from the environment (defaults in the module docstring)."""

    kafka_port: int
    """PLAINTEXT listener for clients."""

    controller_port: int
    """KRaft controller listener; only the broker itself talks to it."""

    ferretdb_port: int
    """MongoDB wire protocol listener."""

    redis_port: int
    """Redis listener (the services' cache)."""

    keycloak_port: int
    """Keycloak's HTTP listener (the OpenID Connect provider of local development)."""

    keycloak_management_port: int
    """Keycloak's management listener (health)."""

    keycloak: bool
    """Whether ``up`` starts Keycloak (``GUILDHALL_INFRA_KEYCLOAK=0`` leaves it out)."""

    timeout: float
    """Seconds to wait for each server to answer after it was started."""

    @classmethod
    def from_env(cls) -> Settings:
        """Read the overrides. Raises InfraError naming a bad variable."""
        settings = cls(
            kafka_port=_env_int("GUILDHALL_KAFKA_PORT", 19092, 1, 65535),
            controller_port=_env_int("GUILDHALL_KAFKA_CONTROLLER_PORT", 19093, 1, 65535),
            ferretdb_port=_env_int("GUILDHALL_FERRETDB_PORT", 27027, 1, 65535),
            redis_port=_env_int("GUILDHALL_REDIS_PORT", 16379, 1, 65535),
            keycloak_port=_env_int("GUILDHALL_KEYCLOAK_PORT", 18080, 1, 65535),
            keycloak_management_port=_env_int(
                "GUILDHALL_KEYCLOAK_MANAGEMENT_PORT", 18081, 1, 65535
            ),
            keycloak=_env_int("GUILDHALL_INFRA_KEYCLOAK", 1, 0, 1) == 1,
            timeout=float(_env_int("GUILDHALL_INFRA_TIMEOUT", 120, 5, 3600)),
        )
        ports = [
            settings.kafka_port,
            settings.controller_port,
            settings.ferretdb_port,
            settings.redis_port,
            settings.keycloak_port,
            settings.keycloak_management_port,
        ]
        if len(set(ports)) != len(ports):
            raise InfraError(
                f"the Kafka, controller, FerretDB, Redis and Keycloak ports must differ: {ports}"
            )
        return settings

    @property
    def oidc_issuer(self) -> str:
        """The local realm's issuer (GUILDHALL_OIDC_ISSUER of the gateway)."""
        return f"http://127.0.0.1:{self.keycloak_port}/realms/{KEYCLOAK_REALM_NAME}"

    @property
    def kafka_bootstrap(self) -> str:
        """Value of GUILDHALL_KAFKA_BOOTSTRAP_SERVERS for the services."""
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def mongo_uri(self) -> str:
        """Value of GUILDHALL_MONGO_URI for the services."""
        return f"mongodb://127.0.0.1:{self.ferretdb_port}/"

    @property
    def redis_url(self) -> str:
        """Value of GUILDHALL_REDIS_URL for the services."""
        return f"redis://127.0.0.1:{self.redis_port}/0"


# --- small helpers -------------------------------------------------------------


def say(message: str) -> None:
    """Print one progress line now, even when stdout is a pipe (CI logs)."""
    print(message, flush=True)


def rel(path: Path) -> str:
    """A path relative to the checkout when it is inside it, for shorter messages."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file, indented, or a note that it is missing."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return f"    ({rel(path)} does not exist)"
    return "\n".join("    " + line for line in text[-lines:])


def which(tool: str, hint: str) -> str:
    """The absolute path of ``tool`` on PATH. Raises InfraError with ``hint``."""
    found = shutil.which(tool)
    if found is None:
        raise InfraError(f"{tool} not found on PATH; {hint}")
    return found


def run_logged(
    cmd: Sequence[str],
    *,
    label: str,
    log: Path,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
) -> None:
    """Run a build step with its output appended to ``log``, printing progress.

    Blocks until the command exits, printing a line every few seconds so a
    first download never looks hung. Raises InfraError (with the log's tail)
    if the command fails.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        # The command is built from fixed arguments and paths of this checkout.
        proc = subprocess.Popen(  # noqa: S603
            list(cmd), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
        next_report = started + PROGRESS_EVERY_SECONDS
        while proc.poll() is None:
            time.sleep(0.2)
            if time.monotonic() >= next_report:
                say(f"    ... {label} ({time.monotonic() - started:.0f}s)")
                next_report += PROGRESS_EVERY_SECONDS
    if proc.returncode != 0:
        raise InfraError(
            f"{label} failed (exit {proc.returncode}); full output in {rel(log)}:\n{tail(log)}"
        )


def maven(mvn: str, pom: Path, goal: str, *properties: str, label: str, log: Path) -> None:
    """Run one Maven goal on one of our poms, quietly, output to ``log`` (see run_logged)."""
    run_logged(
        [mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(pom), goal, *properties],
        label=label,
        log=log,
    )


def capture(cmd: Sequence[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    """Run a quick command and return its stdout. Raises InfraError on failure."""
    # The command is built from fixed arguments and paths of this checkout.
    result = subprocess.run(  # noqa: S603
        list(cmd), cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise InfraError(f"{' '.join(cmd)} failed: {result.stderr.strip() or result.stdout}")
    return result.stdout


@contextlib.contextmanager
def infra_lock() -> Iterator[None]:
    """Serialise build/up/down/reset between concurrent ``make`` runs in this checkout."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    with (RUN_DIR / "infra.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("==> another infra command is running in this checkout; waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def port_open(port: int) -> bool:
    """True if something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _rotate(log: Path, max_bytes: int = 50 * 1024 * 1024) -> None:
    """Keep one previous generation of an append-only log once it grows past ``max_bytes``.

    FerretDB logs every connection and does not rotate; a long test session
    would otherwise grow its log without bound. Called only before a start.
    """
    with contextlib.suppress(FileNotFoundError):
        if log.stat().st_size > max_bytes:
            log.replace(log.with_name(log.name + ".1"))


# --- processes -----------------------------------------------------------------


def cmdline(pid: int) -> list[str]:
    """The argv of a live process, or [] if it is gone or a zombie."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


@dataclass
class Server:
    """One local server process: how to build, start, recognise, probe and stop it."""

    name: str
    pid_file: Path
    log_file: Path
    stop_seconds: float
    is_ours: Callable[[list[str]], bool]
    """True if an argv is this server of this checkout (guards against pid reuse)."""
    console_log: Path | None = None
    """Where the process's stdout/stderr go, if not ``log_file``."""
    _child: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def find_pid(self) -> int | None:
        """The pid of our running server, cleaning a stale pid file; None if not running."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            pid = None
        if pid is not None and self.is_ours(cmdline(pid)):
            return pid
        self.pid_file.unlink(missing_ok=True)
        # The pid file may have been deleted while the server kept running.
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and self.is_ours(cmdline(int(entry.name))):
                found = int(entry.name)
                RUN_DIR.mkdir(parents=True, exist_ok=True)
                self.pid_file.write_text(f"{found}\n")
                return found
        return None

    def start(self, argv: Sequence[str], env: dict[str, str]) -> int:
        """Start the server in its own session, detached from make; returns its pid."""
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        out_path = self.console_log or self.log_file
        _rotate(out_path)
        with out_path.open("ab") as out:
            out.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {self.name}\n".encode())
            out.flush()
            # The argv is built from pinned paths of this checkout, never from input.
            self._child = subprocess.Popen(  # noqa: S603
                list(argv),
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        self.pid_file.write_text(f"{self._child.pid}\n")
        return self._child.pid

    def alive(self, pid: int) -> bool:
        """True while ``pid`` is still our server (reaps it if we started it and it died)."""
        if self._child is not None and self._child.pid == pid:
            # Our own child: poll() is exact, while /proc/<pid>/cmdline reads
            # empty for a moment around exec and would look like an exit.
            return self._child.poll() is None
        return self.is_ours(cmdline(pid))

    def logs_hint(self) -> str:
        """Where to look when this server misbehaves."""
        hint = rel(self.log_file)
        if self.console_log is not None:
            hint += f" (and {rel(self.console_log)})"
        return hint

    def stop(self) -> bool:
        """SIGTERM the server, SIGKILL it after ``stop_seconds``. False if it was not running."""
        pid = self.find_pid()
        if pid is None:
            say(f"    {self.name}: not running")
            return False
        say(f"    {self.name}: stopping pid {pid}")
        self._signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_seconds
        while self.alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.alive(pid):
            say(f"    {self.name}: still running after {self.stop_seconds:.0f}s, sending SIGKILL")
            self._signal(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while self.alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)
        say(f"    {self.name}: stopped")
        return True

    @staticmethod
    def _signal(pid: int, sig: signal.Signals) -> None:
        # The server leads its own session (start_new_session), so its process
        # group holds exactly the server and anything it spawned.
        with contextlib.suppress(ProcessLookupError):
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)


# --- Kafka ---------------------------------------------------------------------


def kafka_version() -> str:
    """The Kafka version pinned in deploy/local/kafka/pom.xml."""
    match = re.search(r"<kafka\.version>\s*([^<\s]+)\s*</kafka\.version>", KAFKA_POM.read_text())
    if match is None:
        raise InfraError(f"no <kafka.version> property in {rel(KAFKA_POM)}")
    return match.group(1)


def _kafka_stamp() -> str:
    digest = hashlib.sha256(KAFKA_POM.read_bytes()).hexdigest()
    return f"kafka {kafka_version()}\npom-sha256 {digest}\n"


def kafka_built() -> bool:
    """True if the jars for the current pom are in place."""
    try:
        return KAFKA_STAMP.read_text() == _kafka_stamp()
    except FileNotFoundError:
        return False


def build_kafka() -> None:
    """Resolve the pinned Kafka and its dependencies from Maven Central (once per pom)."""
    if kafka_built():
        return
    version = kafka_version()
    say(f"==> Kafka {version}: resolving jars from Maven Central into {rel(KAFKA_LIBS)}")
    say("    (first run: up to a minute or two; later runs skip this)")
    mvn = which("mvn", "install Maven 3.8+ (Debian: apt-get install maven)")
    started = time.monotonic()
    staging = KAFKA_HOME / "libs.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    maven(
        mvn,
        KAFKA_POM,
        "dependency:copy-dependencies",
        f"-Dkafka.libs.dir={staging}",
        label="resolving Kafka jars",
        log=LOG_DIR / "build-kafka.log",
    )
    broker_jar = staging / f"kafka_2.13-{version}.jar"
    if not broker_jar.is_file():
        raise InfraError(f"Maven finished but {rel(broker_jar)} is missing; see the pom")
    # Swap the whole directory so jars of an older pin never share the class path.
    shutil.rmtree(KAFKA_LIBS, ignore_errors=True)
    staging.rename(KAFKA_LIBS)
    KAFKA_STAMP.write_text(_kafka_stamp())
    jars = len(list(KAFKA_LIBS.glob("*.jar")))
    say(f"    Kafka {version}: {jars} jars in {time.monotonic() - started:.1f}s")


def kafka_server_properties(settings: Settings) -> str:
    """The broker configuration of the single combined broker+controller dev node."""
    listeners = (
        f"PLAINTEXT://127.0.0.1:{settings.kafka_port},"
        f"CONTROLLER://127.0.0.1:{settings.controller_port}"
    )
    props = {
        # KRaft, one node that is both broker and controller, as a dynamic
        # quorum of one (formatted with --standalone, so no static voters).
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{settings.controller_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listeners": listeners,
        "advertised.listeners": listeners,
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(KAFKA_DATA),
        # One replica of everything: there is one broker.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        # Fewer internal partitions than the production defaults (50): creating
        # them on a 2-core laptop would delay the first consumer group by seconds.
        "offsets.topic.num.partitions": "8",
        "transaction.state.log.num.partitions": "8",
        # Tests start consumer groups constantly; the default 3 s delay would
        # add 3 s to each of them.
        "group.initial.rebalance.delay.ms": "0",
        # Services create their topics from the topic registry at start-up; a
        # typo in a topic name must fail, not silently create a topic.
        "auto.create.topics.enable": "false",
        "num.partitions": "1",
        "delete.topic.enable": "true",
        "log.retention.hours": "168",
        "num.network.threads": "2",
        "num.io.threads": "4",
    }
    lines = ["# Generated by deploy/local/infra.py at every start; edit that file, not this one."]
    lines += [f"{key}={value}" for key, value in props.items()]
    return "\n".join(lines) + "\n"


def _kafka_cluster_id() -> str:
    # Kafka cluster ids are 16 random bytes in unpadded URL-safe base64.
    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    return which("java", "install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre)")


def _kafka_java_argv(main_class: str, *args: str) -> list[str]:
    return [
        _java(),
        *KAFKA_JVM_OPTS,
        f"-Dkafka.logs.dir={LOG_DIR}",
        f"-Dlog4j2.configurationFile={KAFKA_LOG4J}",
        "-cp",
        f"{KAFKA_LIBS}/*",
        main_class,
        *args,
    ]


def prepare_kafka(settings: Settings) -> list[str]:
    """Write server.properties, format the storage on first start; return the broker argv."""
    KAFKA_PROPERTIES.parent.mkdir(parents=True, exist_ok=True)
    KAFKA_PROPERTIES.write_text(kafka_server_properties(settings))
    version = kafka_version()
    if not (KAFKA_DATA / "meta.properties").is_file():
        say(f"==> Kafka: formatting storage in {rel(KAFKA_DATA)} (first start only)")
        KAFKA_DATA.mkdir(parents=True, exist_ok=True)
        run_logged(
            _kafka_java_argv(
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "--cluster-id",
                _kafka_cluster_id(),
                "--config",
                str(KAFKA_PROPERTIES),
            ),
            label="formatting Kafka storage",
            log=LOG_DIR / "build-kafka.log",
        )
        record = {"kafka_version": version, "controller_port": settings.controller_port}
        KAFKA_FORMAT_RECORD.write_text(json.dumps(record) + "\n")
    else:
        _warn_if_format_differs(settings, version)
    return _kafka_java_argv("kafka.Kafka", str(KAFKA_PROPERTIES))


def _warn_if_format_differs(settings: Settings, version: str) -> None:
    try:
        record = json.loads(KAFKA_FORMAT_RECORD.read_text())
    except (FileNotFoundError, ValueError):
        return
    if record.get("controller_port") != settings.controller_port:
        say(
            f"    warning: the Kafka storage was formatted with controller port "
            f"{record.get('controller_port')}; the quorum remembers it. "
            "If the broker does not come up, run `make infra-reset`."
        )
    if record.get("kafka_version") != version:
        say(
            f"    note: the Kafka storage was formatted by Kafka {record.get('kafka_version')}; "
            f"now running {version}. A downgrade cannot read newer storage: `make infra-reset`."
        )


def kafka_answers(settings: Settings) -> bool:
    """True if the broker answers a metadata request and lists itself."""
    if not port_open(settings.kafka_port):
        return False
    from aiokafka import AIOKafkaClient

    async def probe() -> bool:
        client = AIOKafkaClient(
            bootstrap_servers=settings.kafka_bootstrap,
            request_timeout_ms=3000,
            client_id="guildhall-infra-probe",
        )
        try:
            await client.bootstrap()
            return bool(client.cluster.brokers())
        except Exception:  # noqa: BLE001 - any failure means "not ready yet"
            return False
        finally:
            await client.close()

    # aiokafka logs every refused connection at ERROR; a probe expects some.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    return asyncio.run(probe())


def kafka_server() -> Server:
    """The local Kafka broker of this checkout."""
    properties = str(KAFKA_PROPERTIES)
    return Server(
        name="kafka",
        pid_file=RUN_DIR / "kafka.pid",
        log_file=LOG_DIR / "kafka.log",
        console_log=LOG_DIR / "kafka.out",
        stop_seconds=KAFKA_STOP_SECONDS,
        is_ours=lambda argv: "kafka.Kafka" in argv and properties in argv,
    )


# --- FerretDB ------------------------------------------------------------------


def ferretdb_patches() -> list[Path]:
    """The patches applied to the FerretDB source before it is built, in order."""
    return sorted(FERRETDB_PATCHES.glob("*.patch"))


def ferretdb_build_id() -> str:
    """The pinned version and a digest of the patches: a change to either rebuilds."""
    digest = hashlib.sha256()
    for patch in ferretdb_patches():
        digest.update(patch.name.encode())
        digest.update(patch.read_bytes())
    return f"{FERRETDB_VERSION}+patches.{digest.hexdigest()[:12]}"


def ferretdb_upstream_build_id() -> str:
    """The build id of the unpatched binary: the pinned version alone."""
    return f"{FERRETDB_VERSION}+upstream"


def _built(binary: Path, stamp: Path, build_id: str) -> bool:
    try:
        return stamp.read_text().strip() == build_id and binary.is_file()
    except FileNotFoundError:
        return False


def ferretdb_built() -> bool:
    """True if the binary for the pinned version and patches is in place."""
    return _built(FERRETDB_BIN, FERRETDB_STAMP, ferretdb_build_id())


def ferretdb_upstream_built() -> bool:
    """True if the unpatched binary of the pinned version is in place."""
    return _built(FERRETDB_UPSTREAM_BIN, FERRETDB_UPSTREAM_STAMP, ferretdb_upstream_build_id())


def build_ferretdb() -> None:
    """Build the pinned FerretDB with the patches, and without them, unless already built."""
    if not ferretdb_built():
        _build_ferretdb(
            FERRETDB_BIN, FERRETDB_STAMP, ferretdb_build_id(), ferretdb_patches(), "patched"
        )
    if not ferretdb_upstream_built():
        _build_ferretdb(
            FERRETDB_UPSTREAM_BIN,
            FERRETDB_UPSTREAM_STAMP,
            ferretdb_upstream_build_id(),
            [],
            "unpatched, for the differential test",
        )


def _build_ferretdb(
    binary: Path, stamp: Path, build_id: str, patches: list[Path], what: str
) -> None:
    """Build the pinned FerretDB from its Go module with ``patches`` applied.

    ``go install module@version`` builds a binary that panics at start-up:
    FerretDB embeds build/version/version.txt, which is generated by its own
    build tooling and absent from the published module. So the module source
    is copied, that file written with the pinned version, and built from there.
    """
    say(f"==> FerretDB {FERRETDB_VERSION} ({what}): building from its Go module into {rel(binary)}")
    say("    (first run: about a minute on 2 cores; later runs skip this)")
    go = which("go", "install Go 1.24+ (https://go.dev/dl/)")
    started = time.monotonic()
    log = LOG_DIR / "build-ferretdb.log"
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    # Outside any module, so `go mod download` fetches exactly the pinned version.
    info = json.loads(
        capture(
            [go, "mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"], cwd=LOCAL
        )
    )
    source = LOCAL / "src" / f"ferretdb-{FERRETDB_VERSION}"
    _remove_tree(source)
    shutil.copytree(info["Dir"], source)
    # The module cache is read-only; the copy must be writable to add a file and delete it.
    for path in [source, *source.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    (source / "build" / "version" / "version.txt").write_text(f"{FERRETDB_VERSION}\n")
    apply_ferretdb_patches(source, log, patches)
    staging = binary.with_name(binary.name + ".tmp")
    staging.parent.mkdir(parents=True, exist_ok=True)
    run_logged(
        [go, "build", "-trimpath", "-buildvcs=false", "-o", str(staging), "./cmd/ferretdb"],
        label="building FerretDB",
        log=log,
        cwd=source,
    )
    reported = capture([str(staging), "--version"])
    if f"version: {FERRETDB_VERSION}" not in reported:
        raise InfraError(f"the built FerretDB reports an unexpected version:\n{reported}")
    staging.rename(binary)
    stamp.write_text(f"{build_id}\n")
    _remove_tree(source)
    say(f"    FerretDB {FERRETDB_VERSION} ({what}): built in {time.monotonic() - started:.1f}s")


def apply_ferretdb_patches(source: Path, log: Path, patches: list[Path]) -> None:
    """Apply ``patches`` (deploy/local/ferretdb/*.patch) to the copied module source, in order.

    docs/adr/0010-ferretdb-id-index.md and 0018-ferretdb-secondary-index-pushdown.md
    say what they change and why. ``git apply`` runs with the source's parent as the
    ceiling, so it patches the copy as plain files instead of looking for the
    checkout's repository.
    """
    git = which("git", "install git")
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(source.parent)}
    for patch in patches:
        run_logged(
            [git, "apply", "-p1", str(patch)],
            label=f"patching FerretDB ({patch.name})",
            log=log,
            cwd=source,
            env=env,
        )


def _remove_tree(path: Path) -> None:
    if not path.exists():
        return
    for child in [path, *path.rglob("*")]:
        if child.is_dir() and not child.is_symlink():
            child.chmod(child.stat().st_mode | 0o700)
    shutil.rmtree(path)


def ferretdb_argv(settings: Settings) -> list[str]:
    """The FerretDB command line: SQLite backend, loopback only, no telemetry."""
    FERRETDB_DATA.mkdir(parents=True, exist_ok=True)
    FERRETDB_STATE.mkdir(parents=True, exist_ok=True)
    return ferretdb_command(FERRETDB_BIN, FERRETDB_DATA, FERRETDB_STATE, settings.ferretdb_port)


def ferretdb_command(binary: Path, data: Path, state: Path, port: int) -> list[str]:
    """A FerretDB command line for ``binary`` with its SQLite files in ``data``.

    Also used by the differential test and benchmark of the patches, which start
    both builds on scratch directories (guildhall_testsupport.ferretdb).
    """
    return [
        str(binary),
        "--handler=sqlite",
        # A directory URI: one SQLite file per database. The trailing slash is required.
        f"--sqlite-url=file:{data}/",
        f"--state-dir={state}",
        f"--listen-addr=127.0.0.1:{port}",
        # The debug HTTP listener (metrics, pprof) would take a fixed port 8088.
        "--debug-addr=-",
        "--telemetry=disable",
        "--log-level=info",
        "--log-format=text",
    ]


def ferretdb_answers(settings: Settings) -> bool:
    """True if the server answers a MongoDB ``ping``."""
    if not port_open(settings.ferretdb_port):
        return False
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    client: MongoClient[dict[str, object]] = MongoClient(
        settings.mongo_uri,
        serverSelectionTimeoutMS=2000,
        connectTimeoutMS=2000,
        socketTimeoutMS=3000,
        appname="guildhall-infra-probe",
    )
    try:
        reply = client.admin.command("ping")
        return bool(reply.get("ok"))
    except PyMongoError:
        return False
    finally:
        client.close()


def ferretdb_server() -> Server:
    """The local FerretDB of this checkout."""
    binary = str(FERRETDB_BIN)
    return Server(
        name="ferretdb",
        pid_file=RUN_DIR / "ferretdb.pid",
        log_file=LOG_DIR / "ferretdb.log",
        stop_seconds=FERRETDB_STOP_SECONDS,
        is_ours=lambda argv: bool(argv) and argv[0] == binary,
    )


# --- Redis ---------------------------------------------------------------------


def redis_config(settings: Settings) -> str:
    """redis.conf of the local cache: loopback only, nothing on disk, LRU when full."""
    return "\n".join(
        [
            "# Written by deploy/local/infra.py; edits are overwritten on the next start.",
            "bind 127.0.0.1",
            "protected-mode yes",
            f"port {settings.redis_port}",
            f"dir {REDIS_DATA}",
            'save ""',
            "appendonly no",
            "maxmemory 512mb",
            "maxmemory-policy allkeys-lru",
            "daemonize no",
            'proc-title-template "{title} {listen-addr} {config-file}"',
            "",
        ]
    )


def redis_argv(settings: Settings) -> list[str]:
    """Write the configuration, return the command line of Debian's redis-server."""
    binary = which("redis-server", "run `make redis` (Debian's redis-server package)")
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    REDIS_DATA.mkdir(parents=True, exist_ok=True)
    REDIS_CONF.write_text(redis_config(settings))
    return [binary, str(REDIS_CONF)]


def redis_answers(settings: Settings) -> bool:
    """True if the server answers PING with PONG."""
    if not port_open(settings.redis_port):
        return False
    try:
        with socket.create_connection(("127.0.0.1", settings.redis_port), timeout=2) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def redis_server() -> Server:
    """The local Redis of this checkout: its title names this checkout's redis.conf."""
    conf = str(REDIS_CONF)
    return Server(
        name="redis",
        pid_file=RUN_DIR / "redis.pid",
        log_file=LOG_DIR / "redis.log",
        stop_seconds=REDIS_STOP_SECONDS,
        is_ours=lambda argv: bool(argv) and "redis-server" in argv[0] and conf in " ".join(argv),
    )


# --- Keycloak ------------------------------------------------------------------


def keycloak_version() -> str:
    """The Keycloak version pinned in deploy/local/keycloak/pom.xml."""
    match = re.search(
        r"<keycloak\.version>\s*([^<\s]+)\s*</keycloak\.version>", KEYCLOAK_POM.read_text()
    )
    if match is None:
        raise InfraError(f"no <keycloak.version> property in {rel(KEYCLOAK_POM)}")
    return match.group(1)


def _keycloak_stamp() -> str:
    digest = hashlib.sha256(KEYCLOAK_POM.read_bytes()).hexdigest()
    options = " ".join(KEYCLOAK_BUILD_OPTIONS)
    return f"keycloak {keycloak_version()}\npom-sha256 {digest}\nbuild {options}\n"


def keycloak_built() -> bool:
    """True if the distribution of the current pom is unpacked and built."""
    try:
        return KEYCLOAK_STAMP.read_text() == _keycloak_stamp()
    except FileNotFoundError:
        return False


def _keycloak_env() -> dict[str, str]:
    """The environment of kc.sh: ours, without a developer's own KC_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KC_", "KEYCLOAK_"))}
    env["JAVA_OPTS_KC_HEAP"] = KEYCLOAK_HEAP_OPTS
    java = Path(_java())
    if "JAVA_HOME" not in env and java.parent.name == "bin":
        env["JAVA_HOME"] = str(java.resolve().parent.parent)
    return env


def build_keycloak() -> None:
    """Resolve the pinned Keycloak distribution from Maven Central and build it (once).

    ``kc.sh build`` fixes the build-time options (:data:`KEYCLOAK_BUILD_OPTIONS`)
    so each start can be ``start --optimized``, which skips that step. The stamp
    is written last: an interrupted build is redone from scratch next time.
    """
    if keycloak_built():
        return
    version = keycloak_version()
    say(f"==> Keycloak {version}: resolving the distribution into {rel(KEYCLOAK_DIST)}")
    say("    (first run: about a minute: a 170 MB download and `kc.sh build`)")
    mvn = which("mvn", "install Maven 3.8+ (Debian: apt-get install maven)")
    started = time.monotonic()
    log = LOG_DIR / "build-keycloak.log"
    staging = KEYCLOAK_HOME / "dist.tmp"
    _remove_tree(staging)
    maven(
        mvn,
        KEYCLOAK_POM,
        "dependency:unpack",
        f"-Dkeycloak.unpack.dir={staging}",
        label="resolving Keycloak",
        log=log,
    )
    unpacked = staging / f"keycloak-{version}"
    if not (unpacked / "bin" / "kc.sh").is_file():
        raise InfraError(f"Maven finished but {rel(unpacked)}/bin/kc.sh is missing; see the pom")
    KEYCLOAK_STAMP.unlink(missing_ok=True)
    _remove_tree(KEYCLOAK_DIST)
    unpacked.rename(KEYCLOAK_DIST)
    _remove_tree(staging)
    run_logged(
        [str(KEYCLOAK_DIST / "bin" / "kc.sh"), "build", *KEYCLOAK_BUILD_OPTIONS],
        label="building Keycloak (kc.sh build)",
        log=log,
        env=_keycloak_env(),
    )
    KEYCLOAK_STAMP.write_text(_keycloak_stamp())
    say(f"    Keycloak {version}: ready in {time.monotonic() - started:.1f}s")


def keycloak_admin_password() -> str:
    """The local admin's password (``admin`` of the master realm), made on first use.

    Stored under .local/keycloak (ignored by git, mode 0600); tests read it to
    drive the admin API. Local development only.
    """
    try:
        return KEYCLOAK_ADMIN_PASSWORD.read_text().strip()
    except FileNotFoundError:
        pass
    KEYCLOAK_HOME.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(18)
    KEYCLOAK_ADMIN_PASSWORD.write_text(password + "\n")
    KEYCLOAK_ADMIN_PASSWORD.chmod(0o600)
    return password


def prepare_keycloak(settings: Settings) -> list[str]:
    """Put the realm file where ``--import-realm`` reads it; return the start argv.

    The import creates the realm when it does not exist and leaves an existing one
    alone, so changes made through the admin console survive a restart;
    ``make infra-reset`` (which deletes the database) re-imports the file.
    """
    imports = KEYCLOAK_DIST / "data" / "import"
    imports.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(KEYCLOAK_REALM, imports / KEYCLOAK_REALM.name)
    KEYCLOAK_DATA.mkdir(parents=True, exist_ok=True)
    return [
        str(KEYCLOAK_DIST / "bin" / "kc.sh"),
        "start",
        "--optimized",
        "--http-enabled=true",
        "--http-host=127.0.0.1",
        f"--http-port={settings.keycloak_port}",
        f"--http-management-port={settings.keycloak_management_port}",
        "--hostname-strict=false",
        "--import-realm",
        f"--db-url=jdbc:h2:file:{KEYCLOAK_DATA}/keycloakdb;NON_KEYWORDS=VALUE",
        # The readiness probe asks every few hundred ms; its DOWN answers are not news.
        "--log-level=INFO,io.smallrye.health:WARN",
    ]


def keycloak_start_env() -> dict[str, str]:
    """kc.sh's environment at start: the bootstrap admin (used on the first start only)."""
    env = _keycloak_env()
    env["KC_BOOTSTRAP_ADMIN_USERNAME"] = KEYCLOAK_ADMIN_USER
    env["KC_BOOTSTRAP_ADMIN_PASSWORD"] = keycloak_admin_password()
    return env


def _http_ok(url: str) -> bool:
    try:
        # A fixed loopback URL built here, never user input.
        with urllib.request.urlopen(url, timeout=2) as reply:  # noqa: S310
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def keycloak_answers(settings: Settings) -> bool:
    """True once Keycloak reports ready and serves the realm's discovery document."""
    if not port_open(settings.keycloak_management_port):
        return False
    return _http_ok(f"http://127.0.0.1:{settings.keycloak_management_port}/health/ready") and (
        _http_ok(f"{settings.oidc_issuer}/.well-known/openid-configuration")
    )


def keycloak_server() -> Server:
    """The local Keycloak of this checkout (kc.sh leads the session; java is its child)."""
    script = str(KEYCLOAK_DIST / "bin" / "kc.sh")
    return Server(
        name="keycloak",
        pid_file=RUN_DIR / "keycloak.pid",
        log_file=LOG_DIR / "keycloak.log",
        stop_seconds=KEYCLOAK_STOP_SECONDS,
        is_ours=lambda argv: script in argv and "start" in argv,
    )


# --- commands ------------------------------------------------------------------


def cmd_build(_settings: Settings) -> int:
    """Fetch/build whatever is missing or out of date for the pinned versions."""
    kafka = kafka_server()
    if not kafka_built() and kafka.find_pid() is not None:
        raise InfraError("Kafka is running with jars of another pin; run `make infra-down` first")
    ferret = ferretdb_server()
    if not ferretdb_built() and ferret.find_pid() is not None:
        raise InfraError("FerretDB is running a binary of another pin; run `make infra-down` first")
    if _settings.keycloak and not keycloak_built() and keycloak_server().find_pid() is not None:
        raise InfraError("Keycloak is running a build of another pin; run `make infra-down` first")
    build_kafka()
    build_ferretdb()
    if _settings.keycloak:
        build_keycloak()
    return 0


def _start_and_wait(
    server: Server,
    *,
    address: str,
    answers: Callable[[], bool],
    argv: Callable[[], list[str]],
    env: dict[str, str],
    timeout: float,
) -> None:
    """Start ``server`` unless it runs, then block until ``answers()`` or the timeout.

    Raises InfraError if the port is taken by a foreign process, if the server
    exits during start-up (with its log's tail) or if it does not answer in time.
    """
    pid = server.find_pid()
    if pid is not None:
        if answers():
            say(f"    {server.name}: already running (pid {pid}) on {address}")
            return
        say(f"    {server.name}: running (pid {pid}) but not answering yet; waiting")
    else:
        port = int(address.rsplit(":", 1)[1])
        if port_open(port):
            raise InfraError(
                f"{address} is already taken by a process this checkout did not start; "
                f"stop it or choose another port (see GUILDHALL_*_PORT in deploy/local/infra.py)"
            )
        pid = server.start(argv(), env)
        say(f"    {server.name}: started pid {pid}, waiting for {address}")
    started = time.monotonic()
    next_report = started + PROGRESS_EVERY_SECONDS
    while not answers():
        if not server.alive(pid):
            server.pid_file.unlink(missing_ok=True)
            raise InfraError(
                f"{server.name} exited during start-up; see {server.logs_hint()}:\n"
                f"{tail(server.console_log or server.log_file)}"
            )
        now = time.monotonic()
        if now - started > timeout:
            raise InfraError(
                f"{server.name} (pid {pid}) did not answer on {address} within {timeout:.0f}s; "
                f"it is still running, see {server.logs_hint()}"
            )
        if now >= next_report:
            say(f"    ... waiting for {server.name} ({now - started:.0f}s)")
            next_report += PROGRESS_EVERY_SECONDS
        time.sleep(0.3)
    say(f"    {server.name}: ready on {address} ({time.monotonic() - started:.1f}s)")


def cmd_up(settings: Settings) -> int:
    """Build if needed, start what is not running, return once both answer."""
    cmd_build(settings)
    env = dict(os.environ)
    # FerretDB honours the Console Do Not Track convention as well as its flag.
    env["DO_NOT_TRACK"] = "1"
    _start_and_wait(
        kafka_server(),
        address=settings.kafka_bootstrap,
        answers=lambda: kafka_answers(settings),
        argv=lambda: prepare_kafka(settings),
        env=env,
        timeout=settings.timeout,
    )
    _start_and_wait(
        ferretdb_server(),
        address=f"127.0.0.1:{settings.ferretdb_port}",
        answers=lambda: ferretdb_answers(settings),
        argv=lambda: ferretdb_argv(settings),
        env=env,
        timeout=settings.timeout,
    )
    _start_and_wait(
        redis_server(),
        address=f"127.0.0.1:{settings.redis_port}",
        answers=lambda: redis_answers(settings),
        argv=lambda: redis_argv(settings),
        env=env,
        timeout=settings.timeout,
    )
    if settings.keycloak:
        _start_and_wait(
            keycloak_server(),
            address=f"127.0.0.1:{settings.keycloak_port}",
            answers=lambda: keycloak_answers(settings),
            argv=lambda: prepare_keycloak(settings),
            env=keycloak_start_env(),
            # Its first start creates the database and imports the realm: a minute on
            # an idle 2-core machine, several when the machine is busy.
            timeout=max(settings.timeout, KEYCLOAK_FIRST_START_SECONDS),
        )
    print_env(settings)
    return 0


def cmd_down(_settings: Settings) -> int:
    """Stop both servers (gracefully, then by force) and remove their pid files."""
    say("==> stopping local infra")
    keycloak_server().stop()
    kafka_server().stop()
    ferretdb_server().stop()
    redis_server().stop()
    return 0


def cmd_reset(settings: Settings) -> int:
    """Stop both servers and delete their data (keeps jars, binary and logs)."""
    cmd_down(settings)
    say(f"==> deleting {rel(DATA_DIR)} and {rel(FERRETDB_STATE)}")
    _remove_tree(DATA_DIR)
    _remove_tree(FERRETDB_STATE)
    return 0


def cmd_status(settings: Settings) -> int:
    """Report both servers; exit 1 unless both answer."""
    rows: list[tuple[Server, str, Callable[[], bool], str]] = [
        (
            kafka_server(),
            settings.kafka_bootstrap,
            lambda: kafka_answers(settings),
            f"Apache Kafka {kafka_version()} (KRaft)",
        ),
        (
            ferretdb_server(),
            f"127.0.0.1:{settings.ferretdb_port}",
            lambda: ferretdb_answers(settings),
            f"FerretDB {FERRETDB_VERSION} (SQLite)",
        ),
        (
            redis_server(),
            f"127.0.0.1:{settings.redis_port}",
            lambda: redis_answers(settings),
            "Redis (Debian's redis-server, the cache)",
        ),
    ]
    if settings.keycloak:
        rows.append(
            (
                keycloak_server(),
                f"127.0.0.1:{settings.keycloak_port}",
                lambda: keycloak_answers(settings),
                f"Keycloak {keycloak_version()} (realm {KEYCLOAK_REALM_NAME})",
            )
        )
    all_up = True
    for server, address, answers, what in rows:
        pid = server.find_pid()
        ok = answers()
        if ok and pid is not None:
            state, detail = "up", f"pid {pid}"
        elif ok:
            state, detail = "up", "not started by this checkout"
        elif pid is not None:
            state, detail = "DOWN", f"pid {pid} runs but does not answer; see {server.logs_hint()}"
        else:
            state, detail = "DOWN", "not running; `make infra-up` starts it"
        all_up = all_up and ok
        say(f"  {server.name:<9} {state:<5} {address:<16} {what}, {detail}")
    print_env(settings)
    return 0 if all_up else 1


def print_env(settings: Settings, *, export: bool = False) -> None:
    """Print the variables the services read to reach this infra."""
    prefix = "export " if export else "  "
    if not export:
        say("")
    say(f"{prefix}GUILDHALL_KAFKA_BOOTSTRAP_SERVERS={settings.kafka_bootstrap}")
    say(f"{prefix}GUILDHALL_MONGO_URI={settings.mongo_uri}")
    say(f"{prefix}GUILDHALL_REDIS_URL={settings.redis_url}")
    if settings.keycloak and not export:
        say(
            f"  OpenID Connect issuer (the gateway's GUILDHALL_OIDC_ISSUER): {settings.oidc_issuer}"
        )


def cmd_env(settings: Settings) -> int:
    """Print shell exports: ``eval "$(python deploy/local/infra.py env)"``."""
    print_env(settings, export=True)
    return 0


COMMANDS: dict[str, Callable[[Settings], int]] = {
    "build": cmd_build,
    "up": cmd_up,
    "down": cmd_down,
    "reset": cmd_reset,
    "status": cmd_status,
    "env": cmd_env,
}

LOCKED = {"build", "up", "down", "reset"}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("command", choices=sorted(COMMANDS))
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command in LOCKED:
            with infra_lock():
                return COMMANDS[args.command](settings)
        return COMMANDS[args.command](settings)
    except InfraError as exc:
        print(f"infra: error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
