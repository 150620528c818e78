"""``python -m guildhall_gateway.cli``: the gateway's checked-in artefacts and audit checks.

- ``openapi write|check``: services/gateway/openapi.json from the code; ``check``
  fails (exit 1) when the file and the code differ (CI: ``make openapi-check``);
- ``routes write|check``: docs/api-routes.md, the route -> RPC table;
- ``audit-verify [--chain CHAIN]``: checks every audit chain in the gateway's
  database (``GUILDHALL_MONGO_URI``, ``GUILDHALL_MONGO_DATABASE``); exit 1 and a
  line per fault when a record was changed or removed (``make audit-verify``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[4]
OPENAPI_FILE = ROOT / "services" / "gateway" / "openapi.json"
ROUTES_FILE = ROOT / "docs" / "api-routes.md"


def openapi_text() -> str:
    from guildhall_gateway.adapters.http.app import make_app

    document = make_app(None).openapi()
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def routes_text() -> str:
    from guildhall_gateway.adapters.http.app import make_app

    document: dict[str, Any] = make_app(None).openapi()
    lines = [
        "# HTTP routes and the RPCs behind them",
        "",
        "Generated from the gateway's routes by `python -m guildhall_gateway.cli routes write`",
        "(`make openapi-check` fails when it is stale). `partner`: whether a partner",
        "principal may use the route (within its open granted pinholes); every other",
        "route answers a partner with the missing-object 404.",
        "",
        "| method | path | operationId | RPC | partner |",
        "|---|---|---|---|---|",
    ]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            rpc = operation.get("x-rpc", "(gateway)")
            partner = "yes" if operation.get("x-partner") else "no"
            if operation.get("x-partner-admin-only"):
                partner = "org admins"
            if not path.startswith("/v1/"):
                partner = "-"
            lines.append(
                f"| {method.upper()} | `{path}` | {operation['operationId']} | {rpc} | {partner} |"
            )
    return "\n".join(lines) + "\n"


def _write_or_check(path: Path, text: str, command: str, what: str) -> int:
    if command == "write":
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
        return 0
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if current != text:
        print(
            f"{path.relative_to(ROOT)} is stale: the {what} changed; run "
            f"`python -m guildhall_gateway.cli {'openapi' if 'openapi' in path.name else 'routes'}"
            " write` and commit it",
            file=sys.stderr,
        )
        return 1
    print(f"{path.relative_to(ROOT)} matches the code")
    return 0


async def _verify(chain: str | None) -> int:
    from guildhall_gateway.adapters.repository import MongoAuditStore
    from guildhall_gateway.application.audit import AuditTrail
    from guildhall_kit.mongo import make_client

    uri = os.environ.get("GUILDHALL_MONGO_URI", "mongodb://127.0.0.1:27027/")
    database = os.environ.get("GUILDHALL_MONGO_DATABASE") or "guildhall_gateway"
    client: Any = make_client(uri, app_name="guildhall-audit-verify")
    try:
        store = MongoAuditStore(client[database])
        chains = await store.chains()
        faults = await AuditTrail(store).verify(chain)
    finally:
        await client.close()
    for fault in faults:
        print(f"FAULT {fault.chain} #{fault.seq}: {fault.problem}")
    checked = [c for c in chains if chain is None or c[0] == chain]
    records = sum(seq for _, seq in checked)
    print(f"{len(checked)} chains, {records} records checked, {len(faults)} faults")
    return 1 if faults else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m guildhall_gateway.cli")
    sub = parser.add_subparsers(dest="what", required=True)
    for name in ("openapi", "routes"):
        p = sub.add_parser(name)
        p.add_argument("command", choices=["write", "check"])
    verify = sub.add_parser("audit-verify")
    verify.add_argument("--chain", default=None, help="one chain, e.g. pinhole:<id>")
    args = parser.parse_args(argv)
    if args.what == "openapi":
        return _write_or_check(OPENAPI_FILE, openapi_text(), args.command, "API")
    if args.what == "routes":
        return _write_or_check(ROUTES_FILE, routes_text(), args.command, "routes")
    return asyncio.run(_verify(args.chain))


if __name__ == "__main__":
    sys.exit(main())
