"""Mint a local-only dev access token: ``make token SUB=alice ORG=home KIND=employee``.

Signed with the dev key under .local/dev-keys; services started by ``make run``
trust that key set and nothing else.
"""

from __future__ import annotations

import argparse

from guildhall_kit.auth.devkeys import ensure_dev_keys
from guildhall_kit.auth.principal import PrincipalKind
from guildhall_kit.auth.tokens import mint_token


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sub", required=True, help="person id")
    parser.add_argument("--org", required=True, help="organisation id")
    parser.add_argument("--kind", choices=[k.value for k in PrincipalKind], default="employee")
    parser.add_argument("--role", action="append", default=[], help="platform role, e.g. admin")
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    args = parser.parse_args(argv)
    keys = ensure_dev_keys()
    print(
        mint_token(
            keys.private_key_pem,
            kid=keys.kid,
            subject=args.sub,
            kind=PrincipalKind(args.kind),
            org_id=args.org,
            roles=args.role,
            ttl_s=args.ttl,
        )
    )


if __name__ == "__main__":
    main()
