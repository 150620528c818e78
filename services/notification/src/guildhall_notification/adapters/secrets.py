"""Webhook signing secrets at rest: AES-256-GCM under a key from the settings.

A signing secret must be readable to sign with, so it is encrypted, not
hashed. The stored value is ``version byte | 12-byte nonce | ciphertext+tag``;
the webhook id is the associated data, so a stored secret cannot be moved to
another webhook. Rotating the key means decrypting with the old and
re-encrypting with the new (the version byte leaves room for that).
"""

from __future__ import annotations

import base64
import os
from typing import Final

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION: Final = b"\x01"


class SecretBox:
    def __init__(self, key_b64: str) -> None:
        self._aead = AESGCM(base64.b64decode(key_b64))

    def seal(self, secret: str, webhook_id: str) -> bytes:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, secret.encode("utf-8"), webhook_id.encode("utf-8"))
        return VERSION + nonce + sealed

    def open(self, stored: bytes, webhook_id: str) -> str:
        """The secret. Raises ``cryptography.exceptions.InvalidTag`` for a foreign value."""
        if stored[:1] != VERSION:
            raise ValueError("unknown secret format")
        nonce, sealed = stored[1:13], stored[13:]
        return self._aead.decrypt(nonce, sealed, webhook_id.encode("utf-8")).decode("utf-8")
