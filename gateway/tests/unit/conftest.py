"""Fixtures of the gateway's unit tests."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crm_common import migrate
from crm_gateway.settings import Settings


@pytest.fixture(scope="module")
def keypair(tmp_path_factory):
    """A token signing key and the path of its public half, as the gateway is configured with."""
    key = Ed25519PrivateKey.generate()
    path = tmp_path_factory.mktemp("keys") / "public.pem"
    path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo))
    return key, str(path)


@pytest.fixture(scope="module")
def gateway_db(tmp_path_factory):
    """The URL of a gateway database migrated to the head (a SQLite file), one per test module."""
    url = f"sqlite:///{tmp_path_factory.mktemp('gw') / 'gateway.db'}"
    migrate.upgrade("gateway", url)
    return url


@pytest.fixture(scope="module")
def settings_of(keypair, gateway_db):
    """`settings_of(**overrides)`: the Settings of a test's gateway app: the module's migrated database, the test
    key's public half, a broker never reached (the tests stand in for the RPC client), a one-second RPC timeout."""
    def make(**overrides) -> Settings:
        return Settings(**{"amqp_uri": "amqp://guest:guest@127.0.0.1:1/", "rpc_timeout": 1,
                           "public_key_file": keypair[1], "database_url": gateway_db, **overrides})
    return make
