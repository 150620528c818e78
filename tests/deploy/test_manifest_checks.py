"""deploy/check_manifests.py refuses what it exists to refuse.

Each case copies deploy/k8s, breaks one thing in the copy, renders it with the
pinned kustomize (GUILDHALL_KUSTOMIZE; ``make deploy-check`` builds it, and
``make test`` runs that first) and expects the checker to name the problem;
the unbroken copy passes.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKER = ROOT / "deploy" / "check_manifests.py"

pytestmark = pytest.mark.integration


def _checker(k8s: Path) -> Any:
    spec = importlib.util.spec_from_file_location("check_manifests_under_test", CHECKER)
    assert spec is not None
    assert spec.loader is not None
    module: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.K8S_DIR = k8s
    module.OVERLAYS = k8s / "overlays"
    return module


@pytest.fixture
def k8s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    kustomize = os.environ.get("GUILDHALL_KUSTOMIZE", "")
    if not kustomize or not Path(kustomize).is_file():
        found = sorted((ROOT / ".local" / "bin").glob("kustomize-v*"))
        if not found:
            pytest.fail("kustomize not built: run `make deploy-check` (make test does)")
        monkeypatch.setenv("GUILDHALL_KUSTOMIZE", str(found[-1]))
    copy = tmp_path / "k8s"
    shutil.copytree(ROOT / "deploy" / "k8s", copy)
    return copy


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def _problems(k8s: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    # services_in_tree reads the real services/ (K8S_DIR's grandparent in the repo).
    module = _checker(k8s)
    module.services_in_tree = lambda: set(module.SERVICES)
    code = module.main()
    captured = capsys.readouterr()
    return code, captured.err + captured.out


def test_the_shipped_manifests_pass(k8s: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _problems(k8s, capsys)
    assert code == 0, out
    assert "dev 37 objects" in out
    assert "prod 37 objects" in out


LIVENESS = "          livenessProbe:\n            grpc:\n              port: 50052\n"

BREAKAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "prod turns the development issuer on": (
        lambda k: _edit(
            k / "overlays/prod/kustomization.yaml",
            'GUILDHALL_DEV_ISSUER_ENABLED: "false"',
            'GUILDHALL_DEV_ISSUER_ENABLED: "true"',
        ),
        "development token issuer must be off",
    ),
    "prod trusts a plain-HTTP local provider": (
        lambda k: _edit(
            k / "overlays/prod/kustomization.yaml",
            "GUILDHALL_OIDC_ISSUER: https://login.example.com/realms/corp",
            "GUILDHALL_OIDC_ISSUER: http://127.0.0.1:18080/realms/guildhall",
        ),
        "GUILDHALL_OIDC_ISSUER must be the enterprise's HTTPS provider",
    ),
    "a service's NetworkPolicy is gone": (
        lambda k: _edit(
            k / "base/networkpolicies.yaml",
            "  name: guildhall-post\n",
            "  name: guildhall-post-renamed\n",
        ),
        "guildhall-post: NetworkPolicy missing",
    ),
    "an HPA is gone": (
        lambda k: _edit(k / "base/kustomization.yaml", "  - hpa.yaml\n", ""),
        "HorizontalPodAutoscaler missing",
    ),
    "a field the Kubernetes schema does not know": (
        lambda k: _edit(
            k / "base/post.yaml", "  revisionHistoryLimit: 5\n", "  revisionHistroyLimit: 5\n"
        ),
        "schema:",
    ),
    "the liveness probe depends on the database": (
        lambda k: _edit(
            k / "base/community.yaml",
            LIVENESS + "              service: guildhall.liveness\n",
            LIVENESS + '              service: ""\n',
        ),
        "livenessProbe must ask for service",
    ),
}


@pytest.mark.parametrize("case", sorted(BREAKAGES))
def test_a_broken_manifest_is_refused(
    case: str, k8s: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    breaks, expected = BREAKAGES[case]
    breaks(k8s)
    code, out = _problems(k8s, capsys)
    assert code == 1, out
    assert expected in out, out
