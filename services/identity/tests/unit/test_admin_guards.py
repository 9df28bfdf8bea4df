"""Nobody locks the company out, and a delegated user administrator stays in their lane.

The delegated administrator here holds `sales_rep` plus a custom role `team_user_admin` (users of their
own team: read, update, delete, admin). The expected outcomes are written down literally below."""
from __future__ import annotations

import pytest

from crm_common.context import Actor
from crm_common.errors import ServiceError
from crm_common.permissions import BUILTIN_ROLES, merge_roles
from crm_identity.domain import mfa, passwords, privacy, roles, teams, users
from crm_identity.models import Role, Team, User

PASSWORD = "Str0ng-Passw0rd-42!"
TEAM_USER_ADMIN = {"user": {"read": "team", "update": "team", "delete": "team", "admin": "team"},
                   "team": {"read": "team", "update": "team"}}
SUPERUSER = {"*": {"*": "all"}}  # a custom role as wide as admin: not the built-in admin role


def outcome(call) -> str:
    try:
        call()
    except ServiceError as exc:
        return exc.code
    return "ok"


def add_user(session, email, names, team_id=None, mfa_on=False) -> User:
    user = User(email=email, full_name=email.split("@")[0], password_hash=passwords.hash_password(PASSWORD),
                roles=list(names), territory_ids=[], team_id=team_id)
    session.add(user)
    session.flush()
    if mfa_on:
        mfa.enroll(user)
        user.mfa_secret, user.mfa_enabled = user.mfa_pending_secret, True
        session.flush()
    return user


def actor_of(session, user: User) -> Actor:
    return Actor(user_id=user.id, email=user.email, roles=tuple(user.roles), team_id=user.team_id,
                 perms=roles.perms_for(session, user.roles))


@pytest.fixture
def office(session):
    """Team t1 with: root (admin), deleg (delegated user admin), rep (sales_rep); team t2 with: other (rep)."""
    session.add_all([Role(name="team_user_admin", permissions=TEAM_USER_ADMIN),
                     Role(name="superuser", permissions=SUPERUSER)])
    t1, t2 = Team(name="t1"), Team(name="t2")
    session.add_all([t1, t2])
    session.flush()
    people = {
        "root": add_user(session, "root@example.com", ["admin"], t1.id, mfa_on=True),
        "deleg": add_user(session, "deleg@example.com", ["sales_rep", "team_user_admin"], t1.id, mfa_on=True),
        "rep": add_user(session, "rep@example.com", ["sales_rep"], t1.id, mfa_on=True),
        "other": add_user(session, "other@example.com", ["sales_rep"], t2.id, mfa_on=True),
    }
    return {"t1": t1, "t2": t2, **people}


OPERATIONS = {  # each takes the Context of the call and the account it acts on
    "update": lambda c, u: users.update(c, u.id, {"full_name": "Changed"}),
    "set_password": lambda c, u: users.update(c, u.id, {"password": "N3w-Str0ng-Passw0rd!"}),
    "set_roles": lambda c, u: users.update(c, u.id, {"roles": ["sales_rep", "team_user_admin"]}),
    "deactivate": lambda c, u: users.deactivate(c, u.id),
    "reset_mfa": lambda c, u: users.reset_mfa(c, u.id),
    "offboard": lambda c, u: privacy.offboard(c, u.id, {"confirm_email": u.email}),
}

# what the delegated user administrator (deleg, team t1) gets on each account (sales_rep lets them read
# every user, so another team's account is a 403, not a 404; offboarding needs privacy_request.create)
DELEGATED_MATRIX = {
    ("root", "update"): "forbidden", ("root", "set_password"): "forbidden", ("root", "set_roles"): "forbidden",
    ("root", "deactivate"): "forbidden", ("root", "reset_mfa"): "forbidden", ("root", "offboard"): "forbidden",
    ("rep", "update"): "ok", ("rep", "set_password"): "ok", ("rep", "set_roles"): "ok",
    ("rep", "deactivate"): "ok", ("rep", "reset_mfa"): "ok", ("rep", "offboard"): "forbidden",
    ("other", "update"): "forbidden", ("other", "set_password"): "forbidden", ("other", "set_roles"): "forbidden",
    ("other", "deactivate"): "forbidden", ("other", "reset_mfa"): "forbidden", ("other", "offboard"): "forbidden",
    ("deleg", "update"): "ok", ("deleg", "set_password"): "ok", ("deleg", "set_roles"): "ok",
    ("deleg", "deactivate"): "conflict", ("deleg", "reset_mfa"): "conflict", ("deleg", "offboard"): "forbidden",
}


@pytest.mark.parametrize("target,operation", sorted(DELEGATED_MATRIX))
def test_a_delegated_user_admin_changes_no_account_stronger_than_their_own(session, office, target, operation,
                                                                           ctx_of):
    deleg, account = office["deleg"], office[target]
    before = (account.password_hash, list(account.roles), account.is_active, account.mfa_enabled, account.email)
    got = outcome(lambda: OPERATIONS[operation](ctx_of(session, actor_of(session, deleg)), account))
    assert got == DELEGATED_MATRIX[(target, operation)]
    if got != "ok":
        session.refresh(account)
        assert (account.password_hash, list(account.roles), account.is_active, account.mfa_enabled,
                account.email) == before


def test_the_reason_names_the_grants_the_caller_lacks(session, office, ctx_of):
    with pytest.raises(ServiceError) as refused:
        users.update(ctx_of(session, actor_of(session, office["deleg"])), office["root"].id, {"password": "x"})
    assert refused.value.code == "forbidden" and "grants beyond your own" in refused.value.detail
    assert "(*.*)" in refused.value.detail  # the admin role grants every action on everything


# -- the last active administrator -----------------------------------------------------------------

LAST_ADMIN_ROUTES = {
    "demote": lambda c, u: users.update(c, u.id, {"roles": ["superuser"]}),
    "deactivate_by_patch": lambda c, u: users.update(c, u.id, {"is_active": False}),
    "deactivate": lambda c, u: users.deactivate(c, u.id),
    "offboard": lambda c, u: privacy.offboard(c, u.id, {"confirm_email": u.email}),
    "erasure_request": lambda c, u: privacy.create(c, {"email": u.email}, "erasure"),
}


@pytest.mark.parametrize("route", sorted(LAST_ADMIN_ROUTES))
def test_the_last_active_administrator_is_never_removed(session, office, route, ctx_of):
    su = add_user(session, "su@example.com", ["superuser"])  # as strong as admin, but not the admin role
    root = office["root"]
    with pytest.raises(ServiceError) as refused:
        LAST_ADMIN_ROUTES[route](ctx_of(session, actor_of(session, su)), root)
    assert refused.value.code == "conflict", refused.value
    session.refresh(root)
    assert root.is_active and root.roles == ["admin"] and root.email == "root@example.com"


@pytest.mark.parametrize("route", ["demote", "deactivate_by_patch", "deactivate"])
def test_with_a_second_administrator_the_first_can_go(session, office, route, ctx_of):
    second = add_user(session, "second@example.com", ["admin"])
    assert outcome(lambda: LAST_ADMIN_ROUTES[route](ctx_of(session, actor_of(session, second)), office["root"])) == "ok"
    session.refresh(office["root"])
    assert not (office["root"].is_active and "admin" in office["root"].roles)


def test_an_inactive_administrator_does_not_count(session, office, ctx_of):
    add_user(session, "old-admin@example.com", ["admin"]).is_active = False
    su = add_user(session, "su@example.com", ["superuser"])
    assert outcome(lambda: users.deactivate(ctx_of(session, actor_of(session, su)), office["root"].id)) == "conflict"


# -- a caller does not lock themself out -----------------------------------------------------------

SELF = {
    "deactivate": (lambda c, u: users.deactivate(c, u.id), "conflict"),
    "deactivate_by_patch": (lambda c, u: users.update(c, u.id, {"is_active": False}), "validation_failed"),
    "drop_admin_role": (lambda c, u: users.update(c, u.id, {"roles": ["sales_rep"]}), "validation_failed"),
    "reset_own_mfa": (lambda c, u: users.reset_mfa(c, u.id), "conflict"),
    "offboard": (lambda c, u: privacy.offboard(c, u.id, {"confirm_email": u.email}), "conflict"),
    "erase_own_email": (lambda c, u: privacy.create(c, {"email": u.email.upper()}, "erasure"), "conflict"),
}


@pytest.mark.parametrize("case", sorted(SELF))
def test_an_administrator_cannot_lock_themself_out(session, office, case, ctx_of):
    add_user(session, "second@example.com", ["admin"])  # not the last one: the self rule alone refuses
    root = office["root"]
    call, expected = SELF[case]
    assert outcome(lambda: call(ctx_of(session, actor_of(session, root)), root)) == expected
    session.refresh(root)
    assert root.is_active and root.roles == ["admin"] and root.mfa_enabled and root.erased_at is None


def test_a_delegated_admin_cannot_narrow_their_own_grants(session, office, ctx_of):
    deleg = office["deleg"]
    assert outcome(lambda: users.update(ctx_of(session, actor_of(session, deleg)), deleg.id,
                                        {"roles": ["sales_rep"]})) == "validation_failed"
    assert outcome(lambda: users.update(ctx_of(session, actor_of(session, deleg)), deleg.id,
                                        {"roles": ["sales_rep", "team_user_admin"]})) == "ok"


# -- erasure is for data subjects; staff are offboarded ----------------------------------------------

def test_an_erasure_request_for_a_staff_email_is_a_409_naming_the_account(session, office, admin_actor, ctx_of):
    rep = office["rep"]
    admin = ctx_of(session, admin_actor)
    with pytest.raises(ServiceError) as refused:
        privacy.create(admin, {"email": " REP@example.com "}, "erasure")
    assert refused.value.code == "conflict" and "offboard" in refused.value.detail
    assert refused.value.extra["staff_user"] == {"id": rep.id, "email": "rep@example.com", "roles": ["sales_rep"],
                                                 "is_active": True}
    assert privacy.create(admin, {"email": "rep@example.com"}, "export")["kind"] == "export"  # export is fine
    assert privacy.create(admin, {"email": "nobody@example.com"}, "erasure")["kind"] == "erasure"


def test_offboarding_erases_the_staff_account_once_confirmed(session, office, admin_actor, ctx_of, events):
    rep = office["rep"]
    admin = ctx_of(session, admin_actor)
    assert outcome(lambda: privacy.offboard(admin, rep.id, {"confirm_email": "someone-else@example.com"})) \
        == "validation_failed"
    assert rep.is_active and rep.email == "rep@example.com"
    request = privacy.offboard(admin, rep.id, {"confirm_email": "Rep@Example.com"})
    was_active = [d["id"] for t, d, _ in events if t == "identity.user_deactivated.v1"] == [rep.id]
    assert (request["kind"], request["email"], was_active) == ("erasure", "rep@example.com", True)
    erased = [d["id"] for t, d, _ in events if t == "identity.user_updated.v1"]  # identity's part, done at once
    assert erased == [rep.id] and not rep.is_active and rep.email.endswith("@erased.invalid")
    assert users.by_email(session, "rep@example.com") is None


def test_portal_customers_are_erased_by_request_not_offboarded(session, admin_actor, ctx_of):
    customer = User(email="cust@example.com", full_name="C", password_hash="x", roles=["customer"],
                    territory_ids=[], contact_id="c-1")
    session.add(customer)
    session.flush()
    admin = ctx_of(session, admin_actor)
    assert outcome(lambda: privacy.offboard(admin, customer.id, {"confirm_email": customer.email})) == "conflict"
    assert privacy.create(admin, {"email": customer.email}, "erasure")["kind"] == "erasure"


# -- teams and roles ------------------------------------------------------------------------------

def test_team_moves_stay_in_the_delegated_admins_lane(session, office, ctx_of):
    deleg, t1 = office["deleg"], office["t1"]
    as_deleg = ctx_of(session, actor_of(session, deleg))
    everyone = [office["root"].id, deleg.id, office["rep"].id]
    without_root = [deleg.id, office["rep"].id]
    assert outcome(lambda: teams.update(as_deleg, t1.id, {"member_ids": without_root})) == "forbidden"
    assert outcome(lambda: teams.update(as_deleg, t1.id, {"member_ids": everyone + [office["other"].id]})) \
        == "forbidden"  # pulling in someone from another team
    assert outcome(lambda: teams.update(as_deleg, t1.id, {"member_ids": [office["root"].id, office["rep"].id]})) \
        == "conflict"  # moving themself out
    assert outcome(lambda: teams.delete(as_deleg, t1.id)) == "forbidden"  # no team.delete
    session.refresh(office["root"])
    assert teams.member_ids(session, t1.id) == sorted(everyone)
    assert outcome(lambda: teams.update(as_deleg, t1.id, {"member_ids": [office["root"].id, deleg.id]})) \
        == "ok"  # the rep, whom the delegated admin may change


def test_a_custom_role_held_by_a_stronger_user_is_not_narrowed(session, office, admin_actor, ctx_of):
    session.add(Role(name="reporting", permissions={"report": {"read": "all"}}))
    root = office["root"]
    root.roles = ["admin", "reporting"]
    session.flush()
    editor = add_user(session, "editor@example.com", ["sales_rep", "role_editor"])
    session.add(Role(name="role_editor", permissions={"role": {"read": "all", "update": "all"},
                                                      "report": {"read": "all"}}))
    session.flush()
    reporting = session.query(Role).filter_by(name="reporting").one()
    assert outcome(lambda: roles.update(ctx_of(session, actor_of(session, editor)), reporting.id,
                                        {"permissions": {"report": {"read": "own"}}})) == "forbidden"
    assert reporting.permissions == {"report": {"read": "all"}}
    editor.roles = ["sales_rep", "role_editor", "reporting"]
    root.roles = ["admin"]
    session.flush()
    role_editor = session.query(Role).filter_by(name="role_editor").one()
    assert outcome(lambda: roles.update(ctx_of(session, actor_of(session, editor)), role_editor.id,
                                        {"permissions": {"report": {"read": "all"}}})) == "conflict"


def test_the_matrix_role_is_what_the_tests_say(session):
    """The delegated role's merged grant, written down: user admin within the team, nothing more of identity."""
    grant = merge_roles([BUILTIN_ROLES["sales_rep"], TEAM_USER_ADMIN])
    assert grant["user"] == {"read": "all", "update": "team", "delete": "team", "admin": "team"}
    assert grant["team"] == {"read": "all", "update": "team"} and "privacy_request" not in grant
