from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from crm_common.db import utcnow
from crm_identity.domain import tokens
from crm_identity.models import RefreshToken, User


def _user(session, **kw) -> User:
    user = User(email=kw.pop("email", "ada@example.com"), full_name="Ada", password_hash="x",
                roles=kw.pop("roles", ["sales_rep"]), territory_ids=["t1"], **kw)
    session.add(user)
    session.flush()
    return user


def test_access_token_is_eddsa_with_the_required_claims(session, signing_keys):
    user = _user(session)
    token = tokens.sign(tokens.access_claims(user, {"lead": {"read": "own"}}))
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
    public = serialization.load_pem_public_key(signing_keys[1].read_bytes())
    claims = jwt.decode(token, public, algorithms=["EdDSA"], audience="crm-api", issuer="crm-identity",
                        options={"require": ["iss", "aud", "sub", "exp", "iat", "jti"]})
    assert claims["sub"] == user.id and claims["typ"] == "access" and claims["kind"] == "user"
    assert claims["exp"] - claims["iat"] == 900
    assert claims["roles"] == ["sales_rep"] and claims["territory_ids"] == ["t1"]
    assert claims["perms"] == {"lead": {"read": "own"}}
    assert "account_id" not in claims


def test_customer_tokens_carry_account_and_contact(session):
    user = _user(session, email="c@example.com", roles=["customer"], account_id="acc", contact_id="con")
    claims = tokens.access_claims(user, {})
    assert claims["kind"] == "customer" and claims["account_id"] == "acc" and claims["contact_id"] == "con"


def test_refresh_tokens_are_stored_hashed_and_work_once(session):
    user = _user(session)
    secret = tokens.issue_refresh(session, user.id)
    stored = session.query(RefreshToken).one()
    assert stored.token_hash == tokens.digest(secret) and secret not in stored.token_hash
    spent, successor = tokens.rotate(session, secret)
    assert successor != secret
    assert session.query(RefreshToken).filter_by(chain_id=spent.chain_id).count() == 2
    with pytest.raises(tokens.RefreshRefused) as refused:
        tokens.rotate(session, secret)
    assert refused.value.reason == "reused"
    # the reuse revoked the whole chain, the successor included
    with pytest.raises(tokens.RefreshRefused) as after:
        tokens.rotate(session, successor)
    assert after.value.reason == "revoked"


def test_other_chains_survive_a_reuse_but_not_a_user_revocation(session):
    user = _user(session)
    one, two = tokens.issue_refresh(session, user.id), tokens.issue_refresh(session, user.id)
    tokens.rotate(session, one)
    with pytest.raises(tokens.RefreshRefused):
        tokens.rotate(session, one)
    _, three = tokens.rotate(session, two)
    assert tokens.revoke_user(session, user.id) >= 1
    with pytest.raises(tokens.RefreshRefused):
        tokens.rotate(session, three)


def test_expired_and_unknown_refresh_tokens_are_refused(session):
    user = _user(session)
    secret = tokens.issue_refresh(session, user.id, now=utcnow() - timedelta(days=30))
    with pytest.raises(tokens.RefreshRefused) as expired:
        tokens.rotate(session, secret)
    assert expired.value.reason == "expired"
    with pytest.raises(tokens.RefreshRefused) as unknown:
        tokens.rotate(session, "not-a-token")
    assert unknown.value.reason == "unknown"
