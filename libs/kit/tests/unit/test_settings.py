"""Settings fail at boot, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from guildhall_kit.settings import ConfigError, ServiceSettings, load_settings


class DemoSettings(ServiceSettings):
    service_name = "demo"


def _clear(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GUILDHALL_KAFKA_BOOTSTRAP_SERVERS", "GUILDHALL_MONGO_URI", "GUILDHALL_GRPC_PORT"):
        monkeypatch.delenv(name, raising=False)


def test_missing_variables_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    with pytest.raises(ConfigError) as info:
        load_settings(DemoSettings)
    message = str(info.value)
    assert "GUILDHALL_KAFKA_BOOTSTRAP_SERVERS is required but not set" in message
    assert "GUILDHALL_MONGO_URI is required but not set" in message


def test_invalid_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("GUILDHALL_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("GUILDHALL_MONGO_URI", "mongodb://127.0.0.1:1/")
    monkeypatch.setenv("GUILDHALL_GRPC_PORT", "seventy")
    with pytest.raises(ConfigError) as info:
        load_settings(DemoSettings)
    assert info.value.problems == [
        "GUILDHALL_GRPC_PORT is invalid: Input should be a valid integer, "
        "unable to parse string as an integer"
    ]


def test_defaults_and_derived_names(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    settings = load_settings(
        DemoSettings, kafka_bootstrap_servers="k:1", mongo_uri="mongodb://m/", topic_prefix="t1."
    )
    assert settings.database_name == "guildhall_demo"
    assert settings.topic("guildhall.post.v1") == "t1.guildhall.post.v1"
    assert settings.otlp_endpoint == ""


def test_service_process_exits_2_naming_the_missing_variable() -> None:
    """The real entry point fails at boot, before opening any connection."""
    env = {"PATH": "/usr/bin:/bin", "GUILDHALL_MONGO_URI": "mongodb://127.0.0.1:1/"}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    code = (
        "from guildhall_kit.service import main\n"
        "from guildhall_kit.settings import ServiceSettings\n"
        "class S(ServiceSettings):\n    service_name = 'demo'\n"
        "async def build(ctx):\n    raise AssertionError('must not be reached')\n"
        "main(S, build)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "GUILDHALL_KAFKA_BOOTSTRAP_SERVERS is required but not set" in proc.stderr
