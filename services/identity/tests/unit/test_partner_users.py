"""Partner users: partner_id belongs to role partner only, and their access token carries it (sales scopes the
partner's records by it)."""
from crm_identity.domain import tokens
from crm_identity.models import User


def _user(session, roles, partner_id=None) -> User:
    user = User(email=f"{roles[0]}@example.com", full_name="P", password_hash="x", roles=roles, territory_ids=[],
                partner_id=partner_id)
    session.add(user)
    session.flush()
    return user


def test_a_partner_users_token_carries_the_partner(session):
    claims = tokens.access_claims(_user(session, ["partner"], "p-1"), {})
    assert (claims["kind"], claims["partner_id"]) == ("user", "p-1")


def test_no_other_token_carries_a_partner(session):
    stale = _user(session, ["sales_rep"], "p-2")  # not possible through the API: only role partner has one
    assert "partner_id" not in tokens.access_claims(stale, {})


# -- who creates partner users (POST /api/v1/partner-users) -------------------------------------------------

import pytest  # noqa: E402

from crm_common.context import Actor  # noqa: E402
from crm_common.errors import ServiceError  # noqa: E402
from crm_common.permissions import BUILTIN_ROLES, merge_roles  # noqa: E402
from crm_identity.domain import users  # noqa: E402

PASSWORD = "Str0ng-Passw0rd-42!"


def _actor(role: str, partner_id: str | None = None) -> Actor:
    roles = ("partner", role) if role == "partner_manager" else (role,)
    perms = merge_roles([BUILTIN_ROLES[name] for name in roles])
    return Actor(user_id=f"{role}-id", roles=roles, perms=perms, partner_id=partner_id)


def _new(email: str, **extra) -> dict:
    return {"email": email, "full_name": "New Partner User", "password": PASSWORD, "partner_id": None,
            "manager": False, **extra}


def test_a_partner_manager_creates_users_of_their_own_partner(session, ctx_of, events):
    boss = _actor("partner_manager", "p-1")
    made = users.create_partner_user(ctx_of(session, boss), _new("pat@acme.example"))
    assert (made["roles"], made["partner_id"]) == (["partner"], "p-1")
    assert tokens.access_claims(session.get(User, made["id"]), {})["partner_id"] == "p-1"
    deputy = users.create_partner_user(ctx_of(session, boss), _new("dep@acme.example", partner_id="p-1",
                                                                   manager=True))
    assert (deputy["roles"], deputy["partner_id"]) == (["partner", "partner_manager"], "p-1")
    assert events.types() == ["identity.user_created.v1", "identity.user_created.v1"]


def test_a_partner_manager_cannot_create_users_of_another_partner(session, ctx_of, events):
    with pytest.raises(ServiceError) as refused:
        users.create_partner_user(ctx_of(session, _actor("partner_manager", "p-1")),
                                  _new("spy@other.example", partner_id="p-2"))
    assert refused.value.code == "forbidden"
    assert users.by_email(session, "spy@other.example") is None and events == []


@pytest.mark.parametrize("role", ["partner", "sales_manager", "support_manager"])
def test_other_roles_create_no_partner_users(session, ctx_of, events, role):
    with pytest.raises(ServiceError) as refused:
        users.create_partner_user(ctx_of(session, _actor(role, "p-1" if role == "partner" else None)),
                                  _new("x@acme.example"))
    assert refused.value.code == "forbidden"
    assert users.by_email(session, "x@acme.example") is None and events == []


def test_a_channel_manager_names_the_partner(session, ctx_of):
    cm = _actor("channel_manager")
    with pytest.raises(ServiceError) as unnamed:
        users.create_partner_user(ctx_of(session, cm), _new("a@acme.example"))
    assert unnamed.value.code == "validation_failed" and "partner_id" in unnamed.value.errors
    made = users.create_partner_user(ctx_of(session, cm), _new("a@acme.example", partner_id="p-9", manager=True))
    assert (made["roles"], made["partner_id"]) == (["partner", "partner_manager"], "p-9")


def test_a_partner_manager_role_needs_the_partner_role_and_a_partner(session, ctx_of, admin_actor):
    with pytest.raises(ServiceError) as refused:
        users.create(ctx_of(session, admin_actor), {"email": "m@acme.example", "full_name": "M", "password": PASSWORD,
                                                    "roles": ["partner_manager"]})
    assert "roles" in refused.value.errors
