"""Offline check of the Kubernetes manifests in deploy/k8s (no cluster needed).

Renders every overlay under deploy/k8s/overlays with kustomize (the binary named
by GUILDHALL_KUSTOMIZE; ``make deploy-check`` builds it) and checks each
rendered set of objects:

- every object against the OpenAPI schema of Kubernetes KUBERNETES_VERSION
  (``kubernetes-validate``, strict: unknown fields are errors); the Prometheus
  Operator's kinds, which that schema lacks, are listed as such;
- what a reviewer would otherwise have to remember: each service has its
  Deployment, Service, ConfigMap, PodDisruptionBudget, HorizontalPodAutoscaler
  and NetworkPolicy; selectors match pod labels; liveness and readiness are
  distinct native gRPC probes (``guildhall.liveness`` and ``""``) on the
  container's gRPC port; the pod runs non-root with a read-only root
  filesystem, no capabilities and no privilege escalation; requests and limits
  are set; the grace period covers preStop plus the drain; replicas spread
  over zones; every ConfigMap, volume and environment variable a container
  needs is there; every setting a service declares itself is written out in
  its configuration, and every ``GUILDHALL_*`` variable a container gets is
  one its service reads;
- the network: a default-deny policy, and only the gateway open to traffic
  from outside the namespace;
- ``prod``: a production deployment, the development token issuer off, an
  HTTPS identity provider that is not a local one, a release image tag, and
  at least two replicas of everything.

Prints each problem and exits 1 if there is any.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

K8S_DIR = Path(__file__).resolve().parent / "k8s"
OVERLAYS = K8S_DIR / "overlays"
# The Kubernetes version whose API schema every rendered object must satisfy.
KUBERNETES_VERSION = "1.33"
# Custom resources the schema does not know; checked for their shape only.
OPERATOR_KINDS = {
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
TOPICS_JOB = "guildhall-kafka-topics"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]", ".svc.cluster.local", ".svc:")

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
EXTERNAL_SECRETS = {"guildhall-mongo", "guildhall-notification-secrets", "guildhall-redis"}
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


def render(overlay: Path, problems: Problems) -> Iterator[tuple[str, Doc]]:
    """Every object ``kustomize build <overlay>`` renders, with where it came from."""
    binary = os.environ.get("GUILDHALL_KUSTOMIZE", "kustomize")
    try:
        built = subprocess.run(  # noqa: S603 - our pinned kustomize on our own files
            [binary, "build", str(overlay)], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        problems.check(False, overlay.name, f"{binary} not found (make deploy-check builds it)")
        return
    if not problems.check(built.returncode == 0, overlay.name, f"kustomize: {built.stderr}"):
        return
    try:
        docs = list(yaml.safe_load_all(built.stdout))
    except yaml.YAMLError as exc:
        problems.check(False, overlay.name, f"rendered invalid YAML: {exc}")
        return
    for doc in docs:
        if doc is not None and problems.check(
            isinstance(doc, dict), overlay.name, "a document is not a mapping"
        ):
            yield overlay.name, doc


def check_schema(doc: Doc, where: str, problems: Problems) -> None:
    """The object against the Kubernetes API schema (strict: no unknown fields)."""
    if (doc.get("apiVersion"), doc.get("kind")) in OPERATOR_KINDS:
        problems.check(bool(dig(doc, "spec")), where, "spec missing")
        return
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        problems.check(False, where, f"no Kubernetes {KUBERNETES_VERSION} schema for this kind")
    except kubernetes_validate.ValidationError as exc:
        path = "/".join(str(p) for p in exc.path)
        problems.check(False, where, f"schema: {exc.message} (at {path or 'top'})")


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
        dig(deployment, "spec", "replicas") is None,
        where,
        "leave replicas to the HorizontalPodAutoscaler (kubectl apply would reset them)",
    )
    zones = {
        c.get("topologyKey")
        for c in dig(deployment, "spec", "template", "spec", "topologySpreadConstraints") or []
    }
    problems.check("topology.kubernetes.io/zone" in zones, where, "spread the replicas over zones")
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


def check_scaling_and_network(
    name: str, objects: dict[tuple[str, str], Doc], min_replicas: int, problems: Problems
) -> None:
    """The service's HorizontalPodAutoscaler and NetworkPolicy."""
    full = f"guildhall-{name}"
    deployment = objects.get(("Deployment", full)) or {}
    pod_labels = dig(deployment, "spec", "template", "metadata", "labels") or {}
    hpa = objects.get(("HorizontalPodAutoscaler", full))
    if problems.check(hpa is not None, full, "HorizontalPodAutoscaler missing"):
        assert hpa is not None
        where = f"HorizontalPodAutoscaler {full}"
        target = dig(hpa, "spec", "scaleTargetRef") or {}
        problems.check(
            target.get("kind") == "Deployment" and target.get("name") == full,
            where,
            f"must scale Deployment {full}",
        )
        low = dig(hpa, "spec", "minReplicas") or 1
        high = dig(hpa, "spec", "maxReplicas") or 0
        problems.check(low >= min_replicas, where, f"minReplicas {low} < {min_replicas}")
        problems.check(high >= low, where, f"maxReplicas {high} < minReplicas {low}")
        metrics = {
            dig(m, "resource", "name")
            for m in dig(hpa, "spec", "metrics") or []
            if m.get("type") == "Resource"
        }
        problems.check("cpu" in metrics, where, "scale on CPU")
    policy = objects.get(("NetworkPolicy", full))
    if not problems.check(policy is not None, full, "NetworkPolicy missing"):
        return
    assert policy is not None
    where = f"NetworkPolicy {full}"
    selected = dig(policy, "spec", "podSelector", "matchLabels") or {}
    problems.check(
        bool(selected) and selected.items() <= pod_labels.items(),
        where,
        "must select the Deployment's pods",
    )
    problems.check(
        sorted(dig(policy, "spec", "policyTypes") or []) == ["Egress", "Ingress"],
        where,
        "must govern both ingress and egress",
    )
    open_rules = [r for r in dig(policy, "spec", "ingress") or [] if not r.get("from")]
    if name == "gateway":
        problems.check(bool(open_rules), where, "the gateway must accept traffic from outside")
    else:
        problems.check(not open_rules, where, "only the gateway may accept traffic from anywhere")


def check_network_defaults(objects: dict[tuple[str, str], Doc], problems: Problems) -> None:
    """A default-deny policy over every pod of the namespace."""
    deny = [
        doc
        for (kind, _), doc in objects.items()
        if kind == "NetworkPolicy"
        and dig(doc, "spec", "podSelector") == {}
        and not dig(doc, "spec", "ingress")
        and not dig(doc, "spec", "egress")
        and sorted(dig(doc, "spec", "policyTypes") or []) == ["Egress", "Ingress"]
    ]
    problems.check(bool(deny), "NetworkPolicy", "no default-deny policy (podSelector {})")


def check_topics_job(
    objects: dict[tuple[str, str], Doc], config_maps: dict[str, Doc], problems: Problems
) -> None:
    """The Job that creates the Kafka topics from the registry."""
    job = objects.get(("Job", TOPICS_JOB))
    if not problems.check(job is not None, TOPICS_JOB, "Job missing"):
        return
    assert job is not None
    where = f"Job {TOPICS_JOB}"
    pod = dig(job, "spec", "template", "spec") or {}
    [container, *_] = pod.get("containers") or [{}]
    problems.check(
        container.get("command") == ["python", "-m", "guildhall_kit.bus.topics_job"],
        where,
        "command must be python -m guildhall_kit.bus.topics_job",
    )
    names = env_names(container, config_maps, where, problems)
    problems.check(
        "GUILDHALL_KAFKA_BOOTSTRAP_SERVERS" in names, where, "needs the Kafka bootstrap servers"
    )
    check_security(pod, container, where, problems)
    check_resources(container, where, problems)
    problems.check(
        ("NetworkPolicy", TOPICS_JOB) in objects, where, "NetworkPolicy missing (egress to Kafka)"
    )


def check_production(objects: dict[tuple[str, str], Doc], problems: Problems) -> None:
    """What only a production overlay must hold to."""
    shared = dig(objects.get(("ConfigMap", "guildhall-shared")), "data") or {}
    gateway = dig(objects.get(("ConfigMap", "guildhall-gateway")), "data") or {}
    problems.check(
        shared.get("GUILDHALL_DEPLOYMENT") == "production",
        "ConfigMap guildhall-shared",
        "GUILDHALL_DEPLOYMENT must be production",
    )
    problems.check(
        str(gateway.get("GUILDHALL_DEV_ISSUER_ENABLED", "false")).lower() in ("false", "0", ""),
        "ConfigMap guildhall-gateway",
        "the development token issuer must be off (GUILDHALL_DEV_ISSUER_ENABLED)",
    )
    issuer = str(gateway.get("GUILDHALL_OIDC_ISSUER", ""))
    problems.check(
        issuer.startswith("https://") and not any(h in issuer for h in LOCAL_HOSTS),
        "ConfigMap guildhall-gateway",
        f"GUILDHALL_OIDC_ISSUER must be the enterprise's HTTPS provider, not {issuer!r}",
    )
    for (kind, name), doc in objects.items():
        if kind not in ("Deployment", "Job"):
            continue
        for container in dig(doc, "spec", "template", "spec", "containers") or []:
            tag = str(container.get("image", "")).rpartition(":")[2]
            problems.check(tag not in ("", "latest", "dev"), f"{kind} {name}", f"image tag {tag!r}")


def check_overlay(overlay: Path, problems: Problems) -> int:
    """Render and check one overlay; the number of objects it has."""
    objects: dict[tuple[str, str], Doc] = {}
    for origin, doc in render(overlay, problems):
        kind = doc.get("kind")
        name = dig(doc, "metadata", "name")
        where = f"{origin}: {kind} {name}"
        if not (
            problems.check(bool(doc.get("apiVersion")), where, "apiVersion missing")
            and problems.check(bool(kind), where, "kind missing")
            and problems.check(bool(name), where, "metadata.name missing")
        ):
            continue
        check_schema(doc, where, problems)
        if kind != "Namespace":
            problems.check(
                dig(doc, "metadata", "namespace") == NAMESPACE,
                where,
                f"namespace must be {NAMESPACE}",
            )
        problems.check((str(kind), str(name)) not in objects, where, "defined twice")
        objects[(str(kind), str(name))] = doc
    config_maps = {name: doc for (kind, name), doc in objects.items() if kind == "ConfigMap"}
    problems.check("guildhall-shared" in config_maps, overlay.name, "shared ConfigMap missing")
    production = overlay.name == "prod"
    scoped = Problems()
    for name, port in SERVICES.items():
        check_service_objects(name, port, objects, config_maps, scoped)
        check_scaling_and_network(name, objects, 2 if production else 1, scoped)
    check_network_defaults(objects, scoped)
    check_topics_job(objects, config_maps, scoped)
    if production:
        check_production(objects, scoped)
    problems.items += [f"{overlay.name}: {item}" for item in scoped.items]
    return len(objects)


def services_in_tree() -> set[str]:
    """The services of services/ (each must be deployed)."""
    root = K8S_DIR.parent.parent / "services"
    return {p.name for p in root.iterdir() if (p / "pyproject.toml").is_file()}


def main() -> int:
    """Entry point; 0 when every overlay renders and passes."""
    problems = Problems()
    missing = sorted(services_in_tree() - set(SERVICES))
    problems.check(not missing, "services/", f"not deployed: {', '.join(missing)}")
    overlays = sorted(p for p in OVERLAYS.iterdir() if (p / "kustomization.yaml").is_file())
    problems.check(
        {p.name for p in overlays} >= {"dev", "prod"}, str(OVERLAYS), "dev and prod overlays needed"
    )
    counts = {overlay.name: check_overlay(overlay, problems) for overlay in overlays}
    for problem in problems.items:
        print(f"deploy/k8s: {problem}", file=sys.stderr)
    if problems.items:
        return 1
    rendered = ", ".join(f"{name} {count} objects" for name, count in counts.items())
    print(
        f"deploy/k8s: {rendered} OK against the Kubernetes {KUBERNETES_VERSION} schema "
        f"({', '.join(SERVICES)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
