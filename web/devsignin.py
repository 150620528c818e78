"""Writes the demo people's sign-in file for the web client of ``make run``.

The web client offers these people on its sign-in page when the file is
present next to it (``web/dist/dev-signin.json``). Their tokens are minted by
the local development issuer (the dev key under .local/dev-keys), which the
gateway accepts only with ``GUILDHALL_DEV_ISSUER_ENABLED`` and never in the
production profile; a production build has no such file. Local use only.

Usage: ``python web/devsignin.py <path of the file to write>``
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from guildhall_kit.auth import PrincipalKind, mint_token
from guildhall_kit.auth.devkeys import ensure_dev_keys

HOME = os.environ.get("GUILDHALL_HOME_ORG_ID", "home")
TTL_S = 12 * 3600
"""A working day: the page offers the people again when a token has expired."""

# The people bench/demo.py creates: (id, display name, org, kind, roles shown, token roles).
DEMO_PEOPLE: tuple[tuple[str, str, str, PrincipalKind, list[str], list[str]], ...] = (
    ("bob", "Bob Okafor", HOME, PrincipalKind.EMPLOYEE, ["employee"], []),
    ("alice", "Alice Martin", HOME, PrincipalKind.EMPLOYEE, ["owner", "admin"], ["admin"]),
    ("carol", "Carol Chen", HOME, PrincipalKind.EMPLOYEE, ["employee"], []),
    ("vera", "Vera Novak", "acme", PrincipalKind.PARTNER, ["partner"], []),
)


def people(keys_dir: Path | None = None) -> list[dict[str, object]]:
    """The demo people with fresh dev tokens, as the web client reads them."""
    keys = ensure_dev_keys(keys_dir) if keys_dir else ensure_dev_keys()
    return [
        {
            "subject": subject,
            "display_name": name,
            "roles": shown,
            "token": mint_token(
                keys.private_key_pem,
                kid=keys.kid,
                subject=subject,
                kind=kind,
                org_id=org,
                roles=roles,
                ttl_s=TTL_S,
            ),
        }
        for subject, name, org, kind, shown, roles in DEMO_PEOPLE
    ]


def write(path: Path, entries: list[dict[str, object]]) -> None:
    """Writes ``{"people": entries}`` to ``path`` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps({"people": entries}, indent=2))
    partial.replace(path)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    target = Path(argv[0])
    write(target, people())
    print(f"  web client: demo sign-in for {len(DEMO_PEOPLE)} people in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
