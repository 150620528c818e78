"""deploy/check_compose.py refuses a compose file whose infrastructure breaks the rules:
the real file passes, and each broken copy is named (no Docker engine needed)."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _checker() -> Any:
    if str(ROOT / "deploy") not in sys.path:
        sys.path.insert(0, str(ROOT / "deploy"))  # it imports check_manifests beside it
    spec = importlib.util.spec_from_file_location(
        "check_compose_under_test", ROOT / "deploy" / "check_compose.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _problems(compose: dict[str, Any]) -> list[str]:
    checker = _checker()
    problems: list[str] = []
    services = compose["services"]
    checker.check_infra(services, compose.get("volumes") or {}, problems)
    checker.check_app_service("post", 50053, services["post"], problems)
    return problems


@pytest.fixture
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_the_shipped_file_passes(compose: dict[str, Any]) -> None:
    assert _problems(compose) == []


@pytest.mark.parametrize(
    ("break_it", "named"),
    [
        (lambda c: c["services"]["redis"].update(image="redis:6.2"), "redis: image"),
        (lambda c: c["services"]["redis"].update(command=["redis-server"]), "must be bounded"),
        (lambda c: c["services"]["redis"].pop("healthcheck"), "redis: healthcheck missing"),
        (
            lambda c: c["services"]["post"]["depends_on"].pop("redis"),
            "post: must wait for redis",
        ),
    ],
)
def test_a_broken_redis_is_named(compose: dict[str, Any], break_it: Any, named: str) -> None:
    broken = copy.deepcopy(compose)
    for service in broken["services"].values():  # anchors share dicts: break one copy only
        if "depends_on" in service:
            service["depends_on"] = dict(service["depends_on"])
    break_it(broken)
    assert any(named in p for p in _problems(broken)), _problems(broken)
