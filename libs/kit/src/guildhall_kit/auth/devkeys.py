"""The local-only development key pair.

Generated on first use under ``.local/dev-keys/`` (ignored by git): an Ed25519
private key and the matching one-key JWKS. Production deployments never use
it: they mount their identity provider's key set and set
``GUILDHALL_JWT_JWKS_FILE``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

DEV_KID = "guildhall-dev-1"


@dataclass(frozen=True)
class DevKeys:
    private_key_pem: bytes
    jwks_path: Path
    kid: str = DEV_KID


def dev_keys_dir() -> Path:
    root = Path(os.environ.get("GUILDHALL_ROOT", Path.cwd()))
    return root / ".local" / "dev-keys"


def ensure_dev_keys(directory: Path | None = None) -> DevKeys:
    """Create the dev key pair if missing; return it. Safe to call concurrently-ish
    (last writer wins, both write a valid pair)."""
    directory = directory or dev_keys_dir()
    private_path = directory / "private.pem"
    jwks_path = directory / "jwks.json"
    if not (private_path.exists() and jwks_path.exists()):
        directory.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        jwk = json.loads(OKPAlgorithm.to_jwk(key.public_key()))
        jwk.update({"kid": DEV_KID, "use": "sig", "alg": "EdDSA"})
        private_path.write_bytes(pem)
        private_path.chmod(0o600)
        jwks_path.write_text(json.dumps({"keys": [jwk]}, indent=2))
    return DevKeys(private_key_pem=private_path.read_bytes(), jwks_path=jwks_path)
