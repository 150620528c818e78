"""Check docker-compose.yml and the Dockerfile without a Docker engine.

When ``docker compose`` is installed, its own ``config --quiet`` validates the
file against the Compose specification first. Either way the file is then
loaded as YAML (anchors and merge keys resolved) and checked for what the
platform relies on:

- MongoDB 7 and Apache Kafka at the version pinned in
  deploy/local/kafka/pom.xml, each with a healthcheck and a named volume;
- the five services, from the one image the root Dockerfile builds, each
  started as ``python -m guildhall_<service>`` with the GUILDHALL_* variables
  (and its own gRPC port), a gRPC health check, read-only root, no
  capabilities, and waiting for healthy MongoDB and Kafka;
- each service's environment against its settings class: every setting the
  service declares itself written out, and no GUILDHALL_* variable it does not
  read (the same rule deploy/check_manifests.py applies to Kubernetes);
- traces to the OpenTelemetry collector (on to Jaeger) and metrics scraped by
  Prometheus; a healthcheck on every long-running container except the
  collector, whose image has no shell to run one;
- published ports bound to 127.0.0.1 only;
- the Dockerfile on python:3.11-slim, installing with the constraints file
  and running as a non-root user.

Prints each problem and exits 1 if there is any; ``make deploy-check`` runs it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from check_manifests import declared_settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
KAFKA_POM = ROOT / "deploy" / "local" / "kafka" / "pom.xml"

SERVICES = {
    "profile": 50051,
    "community": 50052,
    "post": 50053,
    "notification": 50054,
    "gateway": 50055,
}
REQUIRED_ENV = {
    "GUILDHALL_KAFKA_BOOTSTRAP_SERVERS",
    "GUILDHALL_MONGO_URI",
    "GUILDHALL_GRPC_PORT",
    "GUILDHALL_LOG_LEVEL",
    "GUILDHALL_OTLP_ENDPOINT",
    "GUILDHALL_METRICS_PORT",
    "GUILDHALL_JWT_JWKS_FILE",
}


def docker_compose_config(problems: list[str]) -> None:
    """Run ``docker compose config --quiet`` when the Compose plugin is installed."""
    docker = shutil.which("docker")
    if docker is None:
        print("docker-compose.yml: no docker CLI; structural checks only")
        return
    # Fixed arguments; the path is this checkout's compose file.
    probe = subprocess.run(  # noqa: S603
        [docker, "compose", "version"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        print("docker-compose.yml: no `docker compose` plugin; structural checks only")
        return
    result = subprocess.run(  # noqa: S603
        [docker, "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        problems.append(f"docker compose config: {result.stderr.strip()}")
    else:
        print("docker-compose.yml: `docker compose config` accepts it")


def kafka_version() -> str:
    """The Kafka version pinned for the local stack."""
    match = re.search(r"<kafka\.version>\s*([^<\s]+)\s*</kafka\.version>", KAFKA_POM.read_text())
    return match.group(1) if match else "?"


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict, whether written as a mapping or a list."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def depends_healthy(service: dict[str, Any], dependency: str) -> bool:
    """True if the service waits for ``dependency`` to be healthy."""
    depends = service.get("depends_on") or {}
    return (
        isinstance(depends, dict)
        and (depends.get(dependency) or {}).get("condition") == "service_healthy"
    )


def check_infra(services: dict[str, Any], volumes: dict[str, Any], problems: list[str]) -> None:
    """MongoDB 7, the pinned Kafka and a bounded Redis 7, healthchecked, with named volumes."""
    mongo = services.get("mongo") or {}
    if not str(mongo.get("image", "")).startswith("mongo:7"):
        problems.append("mongo: image must be mongo:7.x")
    kafka = services.get("kafka") or {}
    expected = f"apache/kafka:{kafka_version()}"
    if kafka.get("image") != expected:
        problems.append(f"kafka: image must be {expected} (the version of deploy/local)")
    kafka_env = environment(kafka)
    if "broker" not in kafka_env.get("KAFKA_PROCESS_ROLES", "") or "controller" not in (
        kafka_env.get("KAFKA_PROCESS_ROLES", "")
    ):
        problems.append("kafka: KAFKA_PROCESS_ROLES must be broker,controller (KRaft, one node)")
    if kafka_env.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE") != "false":
        problems.append("kafka: auto topic creation must be off (services create their topics)")
    redis = services.get("redis") or {}
    if not str(redis.get("image", "")).startswith("redis:7"):
        problems.append("redis: image must be redis:7.x (the cache)")
    command = " ".join(str(part) for part in redis.get("command") or [])
    if "allkeys-lru" not in command or "--maxmemory" not in command:
        problems.append("redis: must be bounded (--maxmemory with allkeys-lru): it is a cache")
    for name, service in (("mongo", mongo), ("kafka", kafka), ("redis", redis)):
        if not dict(service.get("healthcheck") or {}).get("test"):
            problems.append(f"{name}: healthcheck missing")
        for mount in service.get("volumes") or []:
            source = str(mount).split(":", 1)[0]
            if source not in volumes:
                problems.append(f"{name}: volume {source} is not declared under volumes:")


def check_app_service(name: str, port: int, service: dict[str, Any], problems: list[str]) -> None:
    """One Guildhall service: image, command, environment, health, hardening."""
    if service.get("image") != "guildhall:local" and "build" not in service:
        problems.append(f"{name}: must run the image built by the root Dockerfile")
    if service.get("command") != ["python", "-m", f"guildhall_{name}"]:
        problems.append(f"{name}: command must be python -m guildhall_{name}")
    env = environment(service)
    missing = sorted(REQUIRED_ENV - env.keys())
    if missing:
        problems.append(f"{name}: environment lacks {', '.join(missing)}")
    if env.get("GUILDHALL_GRPC_PORT") != str(port):
        problems.append(f"{name}: GUILDHALL_GRPC_PORT must be {port}")
    if name == "gateway" and env.get("GUILDHALL_HTTP_PORT") != "8080":
        problems.append("gateway: GUILDHALL_HTTP_PORT must be 8080")
    test = " ".join(str(part) for part in dict(service.get("healthcheck") or {}).get("test") or [])
    if "HealthCheckRequest" not in test:
        problems.append(f"{name}: healthcheck must use the gRPC health service")
    for dependency in ("mongo", "kafka", "redis"):
        if not depends_healthy(service, dependency):
            problems.append(f"{name}: must wait for {dependency} to be healthy")
    if service.get("read_only") is not True:
        problems.append(f"{name}: read_only root filesystem expected")
    if "ALL" not in (service.get("cap_drop") or []):
        problems.append(f"{name}: cap_drop must include ALL")


# One-shot jobs (no healthcheck: they exit) and images that cannot run one.
NO_HEALTHCHECK = {"dev-keys", "otel-collector"}
OBSERVABILITY = ("otel-collector", "jaeger", "prometheus")


def check_settings(name: str, service: dict[str, Any], problems: list[str]) -> None:
    """The service's own settings written out; no variable it does not read."""
    everything, own = declared_settings(name)
    env = environment(service)
    unwritten = sorted(own - env.keys())
    if unwritten:
        problems.append(f"{name}: write out the service's own settings: {', '.join(unwritten)}")
    unknown = sorted(
        n
        for n in env
        if n.startswith("GUILDHALL_") and n not in everything and not n.endswith("_ADDR")
    )
    if unknown:
        problems.append(f"{name}: variables the service does not read: {', '.join(unknown)}")


def check_observability(services: dict[str, Any], problems: list[str]) -> None:
    """Collector, Jaeger and Prometheus present; the services export to the collector."""
    for name in OBSERVABILITY:
        if name not in services:
            problems.append(f"service {name} missing")
    for name in SERVICES:
        endpoint = environment(services.get(name) or {}).get("GUILDHALL_OTLP_ENDPOINT", "")
        if "otel-collector:4317" not in endpoint:
            problems.append(f"{name}: GUILDHALL_OTLP_ENDPOINT must be the collector")
    for name, service in services.items():
        if name in NO_HEALTHCHECK:
            continue
        if not dict(service.get("healthcheck") or {}).get("test"):
            problems.append(f"{name}: healthcheck missing")


def check_ports(services: dict[str, Any], problems: list[str]) -> None:
    """Published ports listen on the loopback interface only."""
    for name, service in services.items():
        for port in service.get("ports") or []:
            text = str(port.get("host_ip", "") if isinstance(port, dict) else port)
            if not text.startswith("127.0.0.1"):
                problems.append(f"{name}: port {port} must be bound to 127.0.0.1")


def check_dockerfile(problems: list[str]) -> None:
    """The image: python:3.11-slim, constraints, every package, a non-root user."""
    if not DOCKERFILE.is_file():
        problems.append("Dockerfile missing at the repository root")
        return
    text = DOCKERFILE.read_text()
    if "python:3.11-slim" not in text:
        problems.append("Dockerfile: base image must be python:3.11-slim")
    if "-c requirements/constraints.txt" not in text:
        problems.append("Dockerfile: pip must install with -c requirements/constraints.txt")
    for package in ["libs/protos", "libs/kit", *(f"services/{s}" for s in SERVICES)]:
        if f"./{package}" not in text:
            problems.append(f"Dockerfile: does not install ./{package}")
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    if not users or users[-1].split(":")[0] in {"root", "0"}:
        problems.append("Dockerfile: the final stage must switch to a non-root USER")


def main() -> int:
    """Entry point; 0 when the compose file and Dockerfile pass."""
    problems: list[str] = []
    docker_compose_config(problems)
    try:
        compose = yaml.safe_load(COMPOSE.read_text())
    except (OSError, yaml.YAMLError) as exc:
        print(f"docker-compose.yml: cannot load: {exc}", file=sys.stderr)
        return 1
    if not isinstance(compose, dict):
        print("docker-compose.yml: top level must be a mapping", file=sys.stderr)
        return 1
    services: dict[str, Any] = compose.get("services") or {}
    volumes: dict[str, Any] = compose.get("volumes") or {}
    for name in ("mongo", "kafka", *SERVICES):
        if name not in services:
            problems.append(f"service {name} missing")
    check_infra(services, volumes, problems)
    for name, port in SERVICES.items():
        if name in services:
            check_app_service(name, port, services[name], problems)
            check_settings(name, services[name], problems)
    check_observability(services, problems)
    check_ports(services, problems)
    check_dockerfile(problems)
    for problem in problems:
        print(f"docker-compose.yml: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"docker-compose.yml: {len(services)} services OK; Dockerfile OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
