"""The token signing key pair (Ed25519).

`python -m crm_identity.keys generate DIR` writes DIR/jwt_private.pem and DIR/jwt_public.pem once
(an existing pair is kept). Identity signs with the private key (CRM_JWT_PRIVATE_KEY_FILE); the
gateway verifies with the public key only (CRM_JWT_PUBLIC_KEY_FILE).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crm_common import config

PRIVATE_NAME = "jwt_private.pem"
PUBLIC_NAME = "jwt_public.pem"


def default_dir() -> Path:
    return config.var_dir() / "keys"


def private_key_path() -> Path:
    return Path(config.env("CRM_JWT_PRIVATE_KEY_FILE", str(default_dir() / PRIVATE_NAME)))


def generate(directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / PRIVATE_NAME, directory / PUBLIC_NAME
    if private_path.exists() and public_path.exists():
        return private_path, public_path
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path


def load_private_key(path: Path | None = None):
    with open(path or private_key_path(), "rb") as fh:
        return serialization.load_pem_private_key(fh.read(), password=None)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "generate":
        print("usage: python -m crm_identity.keys generate DIR", file=sys.stderr)
        return 2
    private_path, public_path = generate(Path(argv[1]))
    print(f"keys: {private_path} {public_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
