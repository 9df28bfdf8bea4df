"""Fixtures of the gateway's unit tests."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


@pytest.fixture(scope="module")
def keypair(tmp_path_factory):
    """A token signing key and the path of its public half, as the gateway is configured with."""
    key = Ed25519PrivateKey.generate()
    path = tmp_path_factory.mktemp("keys") / "public.pem"
    path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo))
    return key, str(path)
