"""Secrets kept at rest: AES-256-GCM under a data key that lives outside the database.

A value a service must read back in clear later (a TOTP seed, say) cannot be hashed; it is sealed
instead. A sealed value reads `gcm1:<base64 of nonce + ciphertext + tag>`; the context (e.g. the
owning record's id) is authenticated with it, so a sealed value copied onto another record does not
open. A database dump without the key file reveals nothing.

The key file holds 32 random bytes, base64; `generate_key_file` writes it once (mode 0600).
"""
from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crm_common import keyfiles

PREFIX = "gcm1:"
KEY_BYTES = 32
NONCE_BYTES = 12


class DataKeyError(RuntimeError):
    """The data key file is missing or malformed (a deployment error, said plainly, never the key)."""


class SealedValueError(ValueError):
    """A sealed value that does not open under this key and context (tampered, moved or another key)."""


class SecretBox:
    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise ValueError(f"a data key is {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, value: str, context: str) -> str:
        if not is_sealed(value):
            raise SealedValueError("not a sealed value")
        try:
            raw = base64.urlsafe_b64decode(value[len(PREFIX):].encode())
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise SealedValueError("the sealed value does not open under this key and context") from exc


def is_sealed(value: str | None) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def generate_key_file(path: Path) -> Path:
    """Write a new data key to `path` unless one is there (a key in use must never be replaced)."""
    return keyfiles.generate(path, KEY_BYTES)


def load_key_file(path: Path) -> SecretBox:
    return SecretBox(keyfiles.load(path, KEY_BYTES, DataKeyError, "data key",
                                   f"python -m crm_identity.keys generate {Path(path).parent} writes one"))
