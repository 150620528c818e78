"""schemathesis over the whole OpenAPI document, as an employee and as a partner.

The checked-in document drives schemathesis against the gateway on the real
services: valid and invalid requests for every operation, a bounded number
of examples each (a few minutes on two cores). It must find no server error
(5xx other than the documented 503/504 of a busy service), no answer outside
the documented status codes, content types and headers, and no body that
breaks its schema.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from guildhall_gateway.cli import OPENAPI_FILE
from guildhall_kit.auth import PrincipalKind
from guildhall_testsupport.platform import start_platform

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    )
)
MAX_EXAMPLES = os.environ.get("GUILDHALL_SCHEMATHESIS_EXAMPLES", "3")
MAX_SECONDS = os.environ.get("GUILDHALL_SCHEMATHESIS_SECONDS", "90")
# The live stream never ends by itself; it has its own test
# (test_gateway_partner_scoping.py).
EXCLUDE = r"^/v1/events$"


async def test_no_server_error_and_no_schema_violation(
    infra: Any, tmp_path: Path, unique: str
) -> None:
    lots = {  # the fuzzer is not what the rate limits are for
        "GUILDHALL_RATE_EMPLOYEE_PER_SECOND": "100000",
        "GUILDHALL_RATE_EMPLOYEE_BURST": "100000",
        "GUILDHALL_RATE_PARTNER_ORG_PER_SECOND": "100000",
        "GUILDHALL_RATE_PARTNER_ORG_BURST": "100000",
    }
    async with start_platform(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongo_uri=infra.mongo_uri,
        workdir=tmp_path,
        unique=unique,
        extra_env=lots,
    ) as platform:
        base = f"http://{platform.addr('gateway-http')}"
        tokens = {
            "employee": platform.token("alice", PrincipalKind.EMPLOYEE, "home", ["admin"]),
            "partner": platform.token("vera", PrincipalKind.PARTNER, "acme"),
        }
        for who, token in tokens.items():
            run = subprocess.run(  # noqa: ASYNC221 - the fuzzer is its own process
                [
                    sys.executable,
                    "-m",
                    "schemathesis.cli",
                    "run",
                    str(OPENAPI_FILE),
                    "--url",
                    base,
                    "--header",
                    f"Authorization: Bearer {token}",
                    "--checks",
                    CHECKS,
                    "--max-examples",
                    MAX_EXAMPLES,
                    "--phases",
                    "examples,coverage,fuzzing",
                    "--seed",
                    "20261203",
                    "--max-time",
                    MAX_SECONDS,
                    "--exclude-path-regex",
                    EXCLUDE,
                    "--request-timeout",
                    "20",
                    "--continue-on-failure",
                    "--no-shrink",
                ],
                capture_output=True,
                text=True,
                check=False,
                timeout=240,
            )
            tail = (run.stdout + run.stderr)[-6000:]
            assert run.returncode == 0, f"schemathesis as {who} found problems:\n{tail}"
            assert "operations" in tail.lower() or "passed" in tail.lower(), tail
