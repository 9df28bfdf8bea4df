"""Identity's keys: the token signing key pair (Ed25519) and the data key for secrets at rest.

`python -m crm_identity.keys generate DIR` writes DIR/jwt_private.pem, DIR/jwt_public.pem and
DIR/data.key once (existing keys are kept). Identity signs with the private key
(CRM_JWT_PRIVATE_KEY_FILE); the gateway verifies with the public key only (CRM_JWT_PUBLIC_KEY_FILE).
Identity seals what it must read back in clear (TOTP seeds) with the data key (CRM_DATA_KEY_FILE,
by default data.key beside the private key); it is separate from the signing key, so rotating the
signing key does not lock anyone out of their second factor.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crm_common import config, secretbox

PRIVATE_NAME = "jwt_private.pem"
PUBLIC_NAME = "jwt_public.pem"
DATA_NAME = "data.key"


def default_dir() -> Path:
    return config.var_dir() / "keys"


def private_key_path() -> Path:
    return Path(config.env("CRM_JWT_PRIVATE_KEY_FILE", str(default_dir() / PRIVATE_NAME)))


def data_key_path() -> Path:
    return Path(config.env("CRM_DATA_KEY_FILE", str(private_key_path().parent / DATA_NAME)))


_boxes: dict[Path, secretbox.SecretBox] = {}


def data_box() -> secretbox.SecretBox:
    """The data key's box, read once per process (raises DataKeyError when the file is missing)."""
    path = data_key_path()
    if path not in _boxes:
        _boxes[path] = secretbox.load_key_file(path)
    return _boxes[path]


def generate(directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    secretbox.generate_key_file(directory / DATA_NAME)
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
    print(f"keys: {private_path} {public_path} {Path(argv[1]) / DATA_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
