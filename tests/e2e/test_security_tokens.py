"""Forged or misused tokens are all refused with the same 401 body (OWASP API2: broken authentication)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

pytestmark = pytest.mark.e2e


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@pytest.fixture(scope="module")
def keys(suite):
    env = suite.suite.env
    with open(env["CRM_JWT_PRIVATE_KEY_FILE"], "rb") as fh:
        private = serialization.load_pem_private_key(fh.read(), password=None)
    with open(env["CRM_JWT_PUBLIC_KEY_FILE"], "rb") as fh:
        public_pem = fh.read()
    return private, public_pem


@pytest.fixture(scope="module")
def claims(admin):
    now = int(time.time())
    return {"iss": "crm-identity", "aud": "crm-api", "sub": admin.user["id"], "iat": now, "exp": now + 600,
            "jti": str(uuid.uuid4()), "typ": "access", "kind": "user", "email": admin.user["email"],
            "roles": ["admin"], "team_id": None, "territory_ids": [], "perms": {"*": {"*": "all"}}}


def _hs256(claims: dict, secret: bytes) -> str:
    """Signed by hand: PyJWT itself refuses a PEM key as an HMAC secret (the classic key-confusion attack)."""
    signing_input = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + _b64(json.dumps(claims).encode())
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _forgeries(keys, claims, admin):
    private, public_pem = keys
    signed = lambda c: jwt.encode(c, private, algorithm="EdDSA")  # noqa: E731 (the real key: claims must fail)
    header_none = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    real = admin.token
    head, payload, signature = real.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0x01
    expired = {**claims, "iat": claims["iat"] - 3600, "exp": claims["iat"] - 1800}
    no_exp = {k: v for k, v in claims.items() if k != "exp"}
    return {
        "alg none": f"{header_none}.{body}.",
        "HS256 with the public key": _hs256(claims, public_pem),
        "wrong iss": signed({**claims, "iss": "someone-else"}),
        "wrong aud": signed({**claims, "aud": "another-api"}),
        "expired": signed(expired),
        "no exp": signed(no_exp),
        "flipped signature bit": f"{head}.{payload}.{_b64(bytes(raw))}",
        "refresh token as access": admin.refresh_token,
        "not an access token (typ)": signed({**claims, "typ": "refresh"}),
        "garbage": "this-is-not-a-token",
        "empty bearer parts": "..",
    }


def test_the_genuine_token_works(admin):
    assert admin.get("/api/v1/me").status_code == 200


def test_every_forged_token_is_a_401_with_the_same_body(suite, admin, keys, claims):
    bodies = {}
    for name, token in _forgeries(keys, claims, admin).items():
        response = suite.clone(token=token).get("/api/v1/users")
        assert response.status_code == 401, f"{name}: {response.status_code} {response.text}"
        assert response.headers["Content-Type"] == "application/problem+json", name
        bodies[name] = json.dumps({k: v for k, v in response.json().items() if k != "request_id"}, sort_keys=True)
    assert len(set(bodies.values())) == 1, bodies
    # and the same as no credentials at all
    none = suite.get("/api/v1/users")
    assert none.status_code == 401
    assert json.dumps({k: v for k, v in none.json().items() if k != "request_id"}, sort_keys=True) in bodies.values()


def test_a_wrong_scheme_or_unknown_api_key_is_401(suite):
    assert suite.get("/api/v1/me", headers={"Authorization": "Basic YWRtaW46YWRtaW4="}).status_code == 401
    assert suite.get("/api/v1/me", headers={"X-API-Key": "crm_" + "A" * 43}).status_code == 401
