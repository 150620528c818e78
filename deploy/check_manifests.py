"""Offline check of the Kubernetes manifests in deploy/k8s (no cluster needed).

Parses every YAML document and checks what a reviewer would otherwise have to
remember: each service has its Deployment, Service, ConfigMap and
PodDisruptionBudget; selectors match pod labels; liveness and readiness are
distinct native gRPC probes (``guildhall.liveness`` and ``""``) on the
container's gRPC port; the pod runs non-root with a read-only root
filesystem, no capabilities and no privilege escalation; requests and limits
are set; the grace period covers preStop plus the drain; every ConfigMap,
volume and environment variable a container needs is there; every setting a
service declares itself is written out in its configuration (so an operator
sees each knob), and every ``GUILDHALL_*`` variable a container gets is one
its service reads (so a misspelt variable cannot be silently ignored).

Prints each problem and exits 1 if there is any; ``make deploy-check`` runs it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

K8S_DIR = Path(__file__).resolve().parent / "k8s"

SERVICES = {
    "profile": 50051,
    "community": 50052,
    "post": 50053,
    "notification": 50054,
    "gateway": 50055,
}
GATEWAY_HTTP_PORT = 8080
LIVENESS_SERVICE = "guildhall.liveness"
NAMESPACE = "guildhall"
# A path inside the container, compared with mount paths and never opened here.
CONTAINER_TMP = "/tmp"  # noqa: S108

# Every service container must end up with these variables (from env or envFrom).
REQUIRED_ENV = {
    "GUILDHALL_KAFKA_BOOTSTRAP_SERVERS",
    "GUILDHALL_MONGO_URI",
    "GUILDHALL_GRPC_HOST",
    "GUILDHALL_GRPC_PORT",
    "GUILDHALL_LOG_LEVEL",
    "GUILDHALL_OTLP_ENDPOINT",
    "GUILDHALL_METRICS_PORT",
    "GUILDHALL_JWT_JWKS_FILE",
    "GUILDHALL_DRAIN_SECONDS",
}
# Objects the operator creates (see deploy/k8s/README.md), so not in this directory.
EXTERNAL_SECRETS = {"guildhall-mongo", "guildhall-notification-secrets"}
EXTERNAL_CONFIGMAPS = {"guildhall-jwks"}
# Seconds between the end of the drain and SIGKILL that the process needs to exit.
EXIT_MARGIN_SECONDS = 3

Doc = dict[str, Any]


class Problems:
    """Accumulates problems, each prefixed with the object it concerns."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def check(self, ok: bool, where: str, message: str) -> bool:
        """Record ``message`` unless ``ok``; return ``ok``."""
        if not ok:
            self.items.append(f"{where}: {message}")
        return ok


def dig(doc: Any, *path: str | int) -> Any:
    """The value at ``path`` inside nested dicts/lists, or None if any step is missing."""
    node = doc
    for key in path:
        if isinstance(key, int):
            if not isinstance(node, list) or key >= len(node):
                return None
        elif not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def load_documents(problems: Problems) -> Iterator[tuple[str, Doc]]:
    """Every non-empty YAML document under deploy/k8s with the file it came from."""
    files = sorted(K8S_DIR.glob("*.yaml"))
    problems.check(bool(files), str(K8S_DIR), "no manifests found")
    for path in files:
        try:
            docs = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError as exc:
            problems.check(False, path.name, f"invalid YAML: {exc}")
            continue
        for doc in docs:
            if doc is None:
                continue
            if problems.check(isinstance(doc, dict), path.name, "a document is not a mapping"):
                yield path.name, doc


def env_names(
    container: Doc, config_maps: dict[str, Doc], where: str, problems: Problems
) -> set[str]:
    """The variable names a container gets from ``env`` and ``envFrom``."""
    names = {str(item.get("name")) for item in container.get("env") or []}
    for item in container.get("env") or []:
        secret = dig(item, "valueFrom", "secretKeyRef", "name")
        if secret is not None:
            problems.check(secret in EXTERNAL_SECRETS, where, f"unknown Secret {secret}")
        cm_ref = dig(item, "valueFrom", "configMapKeyRef", "name")
        if cm_ref is not None:
            problems.check(cm_ref in config_maps, where, f"unknown ConfigMap {cm_ref}")
    for source in container.get("envFrom") or []:
        ref = dig(source, "configMapRef", "name")
        if ref is None:
            continue
        if problems.check(ref in config_maps, where, f"envFrom names unknown ConfigMap {ref}"):
            names |= set((config_maps[ref].get("data") or {}).keys())
    return names


def declared_settings(name: str) -> tuple[set[str], set[str]]:
    """The variables service ``name`` reads, and those its own settings class declares.

    A setting "declared by the service" is a field written in the body of its
    settings class (a new one or a kit default it overrides); the rest come from
    the kit's ``ServiceSettings`` with the same default for every service.
    """
    module = importlib.import_module(f"guildhall_{name}.settings")
    kit = importlib.import_module("guildhall_kit.settings")
    base = kit.ServiceSettings
    cls: Any
    (cls,) = [
        c
        for c in vars(module).values()
        if isinstance(c, type) and issubclass(c, base) and c is not base
    ]
    prefix = str(cls.model_config.get("env_prefix") or "")

    def env(field: str) -> str:
        return f"{prefix}{field}".upper()

    everything = {env(f) for f in cls.model_fields}
    own = {env(f) for f in vars(cls).get("__annotations__", {}) if f in cls.model_fields}
    return everything, own


def check_settings(
    name: str, names: set[str], merged: dict[str, str], where: str, problems: Problems
) -> None:
    """Own settings written out; no variable the service does not read."""
    everything, own = declared_settings(name)
    unwritten = sorted(own - set(merged) - names)
    problems.check(
        not unwritten, where, f"write out the service's own settings: {', '.join(unwritten)}"
    )
    # The shared ConfigMap also carries the other services' addresses.
    shared_addresses = {n for n in names if n.endswith("_ADDR")}
    unknown = sorted(
        n for n in names if n.startswith("GUILDHALL_") and n not in everything | shared_addresses
    )
    problems.check(not unknown, where, f"variables the service does not read: {', '.join(unknown)}")


def check_probes(container: Doc, port: int, where: str, problems: Problems) -> None:
    """Native gRPC probes: liveness on guildhall.liveness, readiness on "", same port."""
    live = dig(container, "livenessProbe", "grpc")
    ready = dig(container, "readinessProbe", "grpc")
    if problems.check(isinstance(live, dict), where, "livenessProbe must be a native grpc probe"):
        problems.check(live.get("port") == port, where, f"livenessProbe port must be {port}")
        problems.check(
            live.get("service") == LIVENESS_SERVICE,
            where,
            f"livenessProbe must ask for service {LIVENESS_SERVICE!r}",
        )
    if problems.check(isinstance(ready, dict), where, "readinessProbe must be a native grpc probe"):
        problems.check(ready.get("port") == port, where, f"readinessProbe port must be {port}")
        problems.check(
            ready.get("service", "") == "",
            where,
            'readinessProbe must ask for the overall status (service "")',
        )
    startup = dig(container, "startupProbe", "grpc")
    if startup is not None:
        problems.check(
            startup.get("service") == LIVENESS_SERVICE,
            where,
            "startupProbe guards liveness, so it must ask for the liveness service",
        )


def check_security(pod: Doc, container: Doc, where: str, problems: Problems) -> None:
    """Non-root, read-only root filesystem, no capabilities, no privilege escalation."""
    pod_sc = pod.get("securityContext") or {}
    sc = container.get("securityContext") or {}
    problems.check(
        pod_sc.get("runAsNonRoot") is True or sc.get("runAsNonRoot") is True,
        where,
        "runAsNonRoot must be true",
    )
    problems.check(
        (pod_sc.get("runAsUser") or sc.get("runAsUser") or 0) != 0, where, "runAsUser must not be 0"
    )
    problems.check(
        sc.get("readOnlyRootFilesystem") is True, where, "readOnlyRootFilesystem must be true"
    )
    problems.check(
        sc.get("allowPrivilegeEscalation") is False, where, "allowPrivilegeEscalation must be false"
    )
    problems.check(sc.get("privileged") in (None, False), where, "must not be privileged")
    problems.check(
        dig(sc, "capabilities", "drop") == ["ALL"], where, "capabilities.drop must be [ALL]"
    )
    problems.check(
        dig(pod_sc, "seccompProfile", "type") == "RuntimeDefault",
        where,
        "pod seccompProfile must be RuntimeDefault",
    )
    problems.check(
        pod.get("automountServiceAccountToken") is False,
        where,
        "automountServiceAccountToken must be false (the services never call the API server)",
    )


def check_resources(container: Doc, where: str, problems: Problems) -> None:
    """CPU and memory requests and limits are all set."""
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            problems.check(
                dig(container, "resources", kind, resource) is not None,
                where,
                f"resources.{kind}.{resource} is required",
            )


def check_grace(pod: Doc, container: Doc, drain: float, where: str, problems: Problems) -> None:
    """The grace period covers the preStop sleep, the drain and a margin to exit."""
    grace = pod.get("terminationGracePeriodSeconds")
    pre_stop = dig(container, "lifecycle", "preStop", "sleep", "seconds") or 0
    needed = pre_stop + drain + EXIT_MARGIN_SECONDS
    problems.check(
        isinstance(grace, int) and grace >= needed,
        where,
        f"terminationGracePeriodSeconds {grace} < preStop {pre_stop} + drain {drain:g} "
        f"+ {EXIT_MARGIN_SECONDS}",
    )


def check_volumes(
    pod: Doc, container: Doc, config_maps: dict[str, Doc], where: str, problems: Problems
) -> None:
    """Every mount has a volume; ConfigMap volumes exist; /tmp is writable."""
    volumes = {str(v.get("name")): v for v in pod.get("volumes") or []}
    mounts = container.get("volumeMounts") or []
    for mount in mounts:
        problems.check(mount.get("name") in volumes, where, f"no volume {mount.get('name')}")
    for volume in volumes.values():
        ref = dig(volume, "configMap", "name")
        if ref is not None:
            problems.check(
                ref in config_maps or ref in EXTERNAL_CONFIGMAPS,
                where,
                f"volume uses unknown ConfigMap {ref}",
            )
    problems.check(
        any(m.get("mountPath") == CONTAINER_TMP for m in mounts),
        where,
        "mount a writable /tmp (the root filesystem is read-only)",
    )


def check_service_objects(
    name: str,
    port: int,
    objects: dict[tuple[str, str], Doc],
    config_maps: dict[str, Doc],
    problems: Problems,
) -> None:
    """Deployment, Service and PodDisruptionBudget of one Guildhall service."""
    full = f"guildhall-{name}"
    deployment = objects.get(("Deployment", full))
    service = objects.get(("Service", full))
    pdb = objects.get(("PodDisruptionBudget", full))
    problems.check(("ConfigMap", full) in objects, full, "ConfigMap missing")
    problems.check(service is not None, full, "Service missing")
    problems.check(pdb is not None, full, "PodDisruptionBudget missing")
    if not problems.check(deployment is not None, full, "Deployment missing"):
        return
    assert deployment is not None
    where = f"Deployment {full}"
    pod_labels = dig(deployment, "spec", "template", "metadata", "labels") or {}
    selector = dig(deployment, "spec", "selector", "matchLabels") or {}
    problems.check(
        bool(selector) and selector.items() <= pod_labels.items(),
        where,
        "selector must match pod labels",
    )
    problems.check(
        (dig(deployment, "spec", "replicas") or 1) >= 2, where, "run at least 2 replicas"
    )
    pod = dig(deployment, "spec", "template", "spec") or {}
    containers = pod.get("containers") or []
    if not problems.check(len(containers) == 1, where, "expected exactly one container"):
        return
    container = containers[0]
    image = str(container.get("image", ""))
    problems.check(
        ":" in image and not image.endswith(":latest"), where, "pin the image tag (not :latest)"
    )
    problems.check(
        container.get("command") == ["python", "-m", f"guildhall_{name}"],
        where,
        f"command must be python -m guildhall_{name}",
    )
    ports = {p.get("name"): p.get("containerPort") for p in container.get("ports") or []}
    problems.check(ports.get("grpc") == port, where, f"container port 'grpc' must be {port}")
    if name == "gateway":
        problems.check(
            ports.get("http") == GATEWAY_HTTP_PORT, where, "gateway needs port 'http' 8080"
        )
    names = env_names(container, config_maps, where, problems)
    missing = sorted(REQUIRED_ENV - names)
    problems.check(not missing, where, f"environment lacks {', '.join(missing)}")
    merged: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        ref = dig(source, "configMapRef", "name")
        merged.update((config_maps.get(ref) or {}).get("data") or {})
    problems.check(
        merged.get("GUILDHALL_GRPC_PORT") == str(port), where, f"GUILDHALL_GRPC_PORT must be {port}"
    )
    check_settings(name, names, merged, where, problems)
    check_probes(container, port, where, problems)
    check_security(pod, container, where, problems)
    check_resources(container, where, problems)
    check_grace(pod, container, float(merged.get("GUILDHALL_DRAIN_SECONDS", "20")), where, problems)
    check_volumes(pod, container, config_maps, where, problems)
    for kind, obj in (("Service", service), ("PodDisruptionBudget", pdb)):
        if obj is None:
            continue
        sel = (
            dig(obj, "spec", "selector")
            if kind == "Service"
            else dig(obj, "spec", "selector", "matchLabels")
        )
        problems.check(
            bool(sel) and dict(sel).items() <= pod_labels.items(),
            f"{kind} {full}",
            "selector must match the Deployment's pod labels",
        )
    if service is not None:
        targets = {p.get("targetPort") for p in dig(service, "spec", "ports") or []}
        problems.check(
            "grpc" in targets or port in targets, f"Service {full}", "must target the grpc port"
        )


def main() -> int:
    """Entry point; 0 when every manifest passes."""
    problems = Problems()
    objects: dict[tuple[str, str], Doc] = {}
    for filename, doc in load_documents(problems):
        kind = doc.get("kind")
        name = dig(doc, "metadata", "name")
        where = f"{filename} {kind} {name}"
        if not (
            problems.check(bool(doc.get("apiVersion")), where, "apiVersion missing")
            and problems.check(bool(kind), where, "kind missing")
        ):
            continue
        if kind == "Kustomization":
            for resource in doc.get("resources") or []:
                problems.check(
                    (K8S_DIR / resource).is_file(), where, f"resource {resource} missing"
                )
            continue
        if not problems.check(bool(name), where, "metadata.name missing"):
            continue
        if kind != "Namespace":
            problems.check(
                dig(doc, "metadata", "namespace") == NAMESPACE,
                where,
                f"namespace must be {NAMESPACE}",
            )
        problems.check((str(kind), str(name)) not in objects, where, "defined twice")
        objects[(str(kind), str(name))] = doc
    config_maps = {name: doc for (kind, name), doc in objects.items() if kind == "ConfigMap"}
    problems.check(
        "guildhall-shared" in config_maps, "guildhall-shared", "shared ConfigMap missing"
    )
    for name, port in SERVICES.items():
        check_service_objects(name, port, objects, config_maps, problems)
    for problem in problems.items:
        print(f"deploy/k8s: {problem}", file=sys.stderr)
    if problems.items:
        return 1
    print(f"deploy/k8s: {len(objects)} objects OK ({', '.join(SERVICES)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
