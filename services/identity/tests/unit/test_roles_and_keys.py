"""Role merging, custom roles and API keys."""
import pytest

from crm_common.context import Actor
from crm_common.errors import ServiceError
from crm_common.permissions import BUILTIN_ROLES
from crm_identity.domain import apikeys, roles
from crm_identity.models import ApiKey, User

REP = Actor(user_id="rep", roles=("sales_rep",), perms=BUILTIN_ROLES["sales_rep"])


def test_perms_merge_builtin_and_custom_roles_widest_scope_wins(session, admin_actor, ctx_of):
    roles.create(ctx_of(session, admin_actor), {"name": "lead_auditor", "permissions": {"lead": {"read": "all",
                                                                                         "export": "team"}}})
    merged = roles.perms_for(session, ["sales_rep", "lead_auditor"])
    assert merged["lead"]["read"] == "all" and merged["lead"]["create"] == "own" and merged["lead"]["export"] == "team"
    assert roles.perms_for(session, ["no_such_role"]) == {}


def test_custom_roles_are_validated_and_cannot_shadow_builtins(session, admin_actor, ctx_of):
    admin = ctx_of(session, admin_actor)
    with pytest.raises(ServiceError) as bad:
        roles.create(admin, {"name": "x_role", "permissions": {"lead": {"read": "everything"}}})
    assert bad.value.code == "validation_failed" and "permissions" in bad.value.errors
    with pytest.raises(ServiceError) as shadow:
        roles.create(admin, {"name": "admin", "permissions": {}})
    assert shadow.value.code == "validation_failed"
    with pytest.raises(ServiceError) as builtin:
        roles.update(admin, roles.builtin_id("sales_rep"), {"description": "x"})
    assert builtin.value.code == "forbidden"


def test_a_grant_cannot_exceed_the_grantors():
    assert roles.grant_within({"lead": {"read": "own"}}, REP) == []
    assert roles.grant_within({"lead": {"read": "all"}}, REP) == ["lead.read"]
    assert roles.grant_within({"*": {"*": "all"}}, REP) == ["*.*"]


def _owner(session, active=True):
    user = User(email=f"o{active}@example.com", full_name="Owner", password_hash="x", roles=["admin"],
                territory_ids=[], is_active=active)
    session.add(user)
    session.flush()
    return user


def test_api_key_secret_is_stored_only_as_its_sha256(session, ctx_of):
    owner = _owner(session)
    actor = Actor(user_id=owner.id, roles=("admin",), perms={"*": {"*": "all"}})
    key = apikeys.create(ctx_of(session, actor), {"name": "ESB", "roles": ["integration"]})
    secret = key["key"]
    assert len(secret) >= 40 and secret.startswith(key["prefix"])
    stored = session.query(ApiKey).one()
    assert secret not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64
    authenticated = apikeys.authenticate(session, secret)
    assert authenticated.kind == "api_key" and authenticated.user_id == owner.id
    assert authenticated.roles == ("integration",) and authenticated.perms == BUILTIN_ROLES["integration"]
    assert stored.last_used_at is not None


def test_revoked_keys_and_keys_of_inactive_owners_are_refused(session, ctx_of):
    owner = _owner(session)
    actor = ctx_of(session, Actor(user_id=owner.id, roles=("admin",), perms={"*": {"*": "all"}}))
    key = apikeys.create(actor, {"name": "ESB", "roles": ["integration"]})
    apikeys.revoke(actor, key["id"])
    with pytest.raises(ServiceError):
        apikeys.authenticate(session, key["key"])
    other = apikeys.create(actor, {"name": "ESB2", "roles": ["integration"]})["key"]
    owner.is_active = False
    with pytest.raises(ServiceError):
        apikeys.authenticate(session, other)
    with pytest.raises(ServiceError):
        apikeys.authenticate(session, "crm_garbage")


def test_key_roles_cannot_exceed_the_creators(session, ctx_of):
    keymaker = Actor(user_id="k", roles=("keymaker",), perms={"api_key": {"create": "own"}, "lead": {"read": "own"}})
    with pytest.raises(ServiceError) as wide:
        apikeys.create(ctx_of(session, keymaker), {"name": "x", "roles": ["sales_rep"]})
    assert wide.value.code == "validation_failed"
    with pytest.raises(ServiceError) as forbidden:
        apikeys.create(ctx_of(session, REP), {"name": "x", "roles": ["sales_rep"]})
    assert forbidden.value.code == "forbidden"
