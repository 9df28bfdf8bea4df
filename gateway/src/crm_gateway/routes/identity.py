"""Routes of the identity context: sign-in, the caller, users, teams, roles, API keys, audit, privacy.

Requests are validated here with the identity contract's schemas (which also document them in
/openapi.json); the service loads the same wire data with the same schemas and applies record scope.
The app checks the permission a view declares with `@requires` before the request reaches the view
(`auth.check_permission`, called by `app._identify`), so a caller without it gets its 403 whatever the
body or query it sent (never a 422 that describes a route it may not use). The decorators above
`@requires` keep its mark (functools.wraps), so its place among them does not matter.
"""
from __future__ import annotations

from flask import g, request
from flask.views import MethodView

from crm_common.contracts import identity as c
from crm_gateway import auth
from crm_gateway.auth import authenticated, own_account, public, requires
from crm_gateway.conventions import Blueprint, created, if_match_version, with_etag
from crm_gateway.idempotency import idempotent
from crm_gateway.rpc import call

auth_blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Signing in: tokens and MFA")
me_blp = Blueprint("me", __name__, url_prefix="/api/v1/me", description="The caller")
users_blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Users")
customers_blp = Blueprint("portal_customers", __name__, url_prefix="/api/v1/portal-customers",
                          description="Portal customers (users acting as a contact)")
teams_blp = Blueprint("teams", __name__, url_prefix="/api/v1/teams", description="Teams")
roles_blp = Blueprint("roles", __name__, url_prefix="/api/v1/roles", description="Roles and their grants")
keys_blp = Blueprint("api_keys", __name__, url_prefix="/api/v1/api-keys", description="API keys for integrations")
audit_blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="The audit trail")
privacy_blp = Blueprint("privacy", __name__, url_prefix="/api/v1/privacy", description="Privacy requests")


def body() -> dict:
    """The validated JSON body as sent (the service loads it again with the same schema)."""
    return request.get_json(silent=True) or {}


def query() -> dict:
    return request.args.to_dict()


def changes(object_id: str) -> dict:
    return {"id": object_id, "changes": body(), "expected_version": if_match_version()}


# -- auth ------------------------------------------------------------------------------------------

@auth_blp.route("/login", methods=["POST"])
@auth_blp.arguments(c.LoginSchema)
@auth_blp.response(200, c.TokenPairSchema)
@auth_blp.alt_response(401, description="wrong credentials (the same answer whether or not the email exists)")
@auth_blp.alt_response(429, description="too many failures for this account or address (Retry-After)")
@public
def login(_args):
    return call("identity", "login", body(), client_ip=request.remote_addr)


@auth_blp.route("/refresh", methods=["POST"])
@auth_blp.arguments(c.RefreshSchema)
@auth_blp.response(200, c.TokenPairSchema)
@public
def refresh(_args):
    return call("identity", "refresh", body(), client_ip=request.remote_addr)


@auth_blp.route("/logout", methods=["POST"])
@own_account
@auth_blp.arguments(c.LogoutSchema)
@auth_blp.response(204)
@auth_blp.alt_response(403, description="an API key may not act on its owner's account")
def logout(_args):
    """With `refresh_token`: end that session and the one of the access token used; without: every session
    of the caller. Their access tokens stop working within seconds."""
    call("identity", "logout", {**body(), "session_id": g.get("session_id")})
    auth.forget_sessions_of(g.actor.user_id)


@auth_blp.route("/password", methods=["POST"])
@own_account
@auth_blp.arguments(c.PasswordChangeSchema)
@auth_blp.response(204)
@auth_blp.alt_response(403, description="an API key may not act on its owner's account")
def change_password(_args):
    call("identity", "change_password", body())
    auth.forget_sessions_of(g.actor.user_id)


@auth_blp.route("/mfa/enroll", methods=["POST"])
@own_account
@auth_blp.response(200, c.MfaEnrollmentSchema)
def mfa_enroll():
    return call("identity", "mfa_enroll")


@auth_blp.route("/mfa/verify", methods=["POST"])
@own_account
@auth_blp.arguments(c.MfaVerifySchema)
@auth_blp.response(200, c.MfaStatusSchema)
def mfa_verify(_args):
    return call("identity", "mfa_verify", body())


@auth_blp.route("/mfa/disable", methods=["POST"])
@own_account
@auth_blp.arguments(c.MfaDisableSchema)
@auth_blp.response(200, c.MfaStatusSchema)
def mfa_disable(_args):
    return call("identity", "mfa_disable", body())


# -- me --------------------------------------------------------------------------------------------

@me_blp.route("")
class Me(MethodView):
    @authenticated
    @me_blp.response(200, c.MeSchema)
    def get(self):
        return call("identity", "get_me")

    @own_account
    @me_blp.arguments(c.MeUpdateSchema)
    @me_blp.response(200, c.UserSchema)
    def patch(self, _args):
        return with_etag(call("identity", "update_me", body()))


# -- users -----------------------------------------------------------------------------------------

@users_blp.route("")
class Users(MethodView):
    @requires("user", "read")
    @users_blp.arguments(c.UserListArgs, location="query")
    @users_blp.response(200, c.UserPage)
    def get(self, _args):
        return call("identity", "list_users", query())

    @requires("user", "create")
    @users_blp.arguments(c.UserCreateSchema)
    @users_blp.response(201, c.UserSchema)
    @idempotent
    def post(self, _args):
        user = call("identity", "create_user", body())
        return created(user, "users.User", user_id=user["id"])


@users_blp.route("/<user_id>")
class User(MethodView):
    @requires("user", "read")
    @users_blp.response(200, c.UserSchema)
    def get(self, user_id):
        return with_etag(call("identity", "get_user", {"id": user_id}))

    @requires("user", "update")
    @users_blp.arguments(c.UserUpdateSchema)
    @users_blp.response(200, c.UserSchema)
    def patch(self, _args, user_id):
        return with_etag(call("identity", "update_user", changes(user_id)))

    @requires("user", "delete")
    @users_blp.response(204)
    def delete(self, user_id):
        call("identity", "deactivate_user", {"id": user_id, "expected_version": if_match_version()})


@users_blp.route("/<user_id>/mfa", methods=["DELETE"])
@requires("user", "admin")
@users_blp.response(204)
def reset_user_mfa(user_id):
    """Turn the user's second factor off (a lost device) and revoke their sessions; they enroll again."""
    call("identity", "reset_user_mfa", {"id": user_id, "expected_version": if_match_version()})


@users_blp.route("/<user_id>/offboard", methods=["POST"])
@requires("user", "admin")
@users_blp.arguments(c.OffboardSchema)
@users_blp.response(202, c.PrivacyRequestSchema)
@users_blp.alt_response(409, description="the caller themself, or the last active administrator")
def offboard_user(_args, user_id):
    """Offboard a staff member (confirm with their email): deactivates and anonymises the account and erases
    what every service holds about that email; the answer is the erasure request."""
    result = call("identity", "offboard_user", {**body(), "id": user_id})
    return result, 202, {"Location": f"/api/v1/privacy/requests/{result['id']}"}


@customers_blp.route("", methods=["POST"])
@requires("ticket", "admin")
@customers_blp.arguments(c.PortalCustomerCreateSchema)
@customers_blp.response(201, c.UserSchema)
@idempotent
def create_portal_customer(_args):
    user = call("identity", "create_portal_customer", body())
    return created(user, "users.User", user_id=user["id"])


# -- teams -----------------------------------------------------------------------------------------

@teams_blp.route("")
class Teams(MethodView):
    @requires("team", "read")
    @teams_blp.arguments(c.TeamListArgs, location="query")
    @teams_blp.response(200, c.TeamPage)
    def get(self, _args):
        return call("identity", "list_teams", query())

    @requires("team", "create")
    @teams_blp.arguments(c.TeamCreateSchema)
    @teams_blp.response(201, c.TeamSchema)
    @idempotent
    def post(self, _args):
        team = call("identity", "create_team", body())
        return created(team, "teams.Team", team_id=team["id"])


@teams_blp.route("/<team_id>")
class Team(MethodView):
    @requires("team", "read")
    @teams_blp.response(200, c.TeamSchema)
    def get(self, team_id):
        return with_etag(call("identity", "get_team", {"id": team_id}))

    @requires("team", "update")
    @teams_blp.arguments(c.TeamUpdateSchema)
    @teams_blp.response(200, c.TeamSchema)
    def patch(self, _args, team_id):
        return with_etag(call("identity", "update_team", changes(team_id)))

    @requires("team", "delete")
    @teams_blp.response(204)
    def delete(self, team_id):
        """Only a team without members (409 lists them)."""
        call("identity", "delete_team", {"id": team_id, "expected_version": if_match_version()})


# -- roles -----------------------------------------------------------------------------------------

@roles_blp.route("")
class Roles(MethodView):
    @requires("role", "read")
    @roles_blp.arguments(c.RoleListArgs, location="query")
    @roles_blp.response(200, c.RolePage)
    def get(self, _args):
        return call("identity", "list_roles", query())

    @requires("role", "create")
    @roles_blp.arguments(c.RoleCreateSchema)
    @roles_blp.response(201, c.RoleSchema)
    @idempotent
    def post(self, _args):
        role = call("identity", "create_role", body())
        return created(role, "roles.Role", role_id=role["id"])


@roles_blp.route("/<role_id>")
class Role(MethodView):
    @requires("role", "read")
    @roles_blp.response(200, c.RoleSchema)
    def get(self, role_id):
        return with_etag(call("identity", "get_role", {"id": role_id}))

    @requires("role", "update")
    @roles_blp.arguments(c.RoleUpdateSchema)
    @roles_blp.response(200, c.RoleSchema)
    def patch(self, _args, role_id):
        return with_etag(call("identity", "update_role", changes(role_id)))

    @requires("role", "delete")
    @roles_blp.response(204)
    def delete(self, role_id):
        call("identity", "delete_role", {"id": role_id, "expected_version": if_match_version()})


# -- API keys --------------------------------------------------------------------------------------

@keys_blp.route("")
class ApiKeys(MethodView):
    @requires("api_key", "read")
    @keys_blp.arguments(c.ApiKeyListArgs, location="query")
    @keys_blp.response(200, c.ApiKeyPage)
    def get(self, _args):
        return call("identity", "list_api_keys", query())

    @requires("api_key", "create")
    @keys_blp.arguments(c.ApiKeyCreateSchema)
    @keys_blp.response(201, c.ApiKeyCreatedSchema)
    @idempotent
    def post(self, _args):
        key = call("identity", "create_api_key", body())
        return key, 201, {"Location": f"{request.path.rstrip('/')}/{key['id']}"}


@keys_blp.route("/<key_id>", methods=["DELETE"])
@requires("api_key", "delete")
@keys_blp.response(204)
def revoke_api_key(key_id):
    """The key stops working at once in the gateway worker that revoked it, in the others within
    CRM_API_KEY_CACHE seconds."""
    call("identity", "revoke_api_key", {"id": key_id})
    auth.forget_api_key(key_id)


# -- audit -----------------------------------------------------------------------------------------

@audit_blp.route("", methods=["GET"])
@requires("audit", "read")
@audit_blp.arguments(c.AuditListArgs, location="query")
@audit_blp.response(200, c.AuditPage)
def list_audit(_args):
    return call("identity", "list_audit", query())


# -- privacy ---------------------------------------------------------------------------------------

def _privacy(kind: str):
    result = call("identity", "create_privacy_request", {**body(), "kind": kind})
    return result, 202, {"Location": f"/api/v1/privacy/requests/{result['id']}"}


@privacy_blp.route("/erasure-requests", methods=["POST"])
@requires("privacy_request", "create")
@privacy_blp.arguments(c.PrivacyCreateSchema)
@privacy_blp.response(202, c.PrivacyRequestSchema)
@idempotent
def erasure_request(_args):
    return _privacy("erasure")


@privacy_blp.route("/export-requests", methods=["POST"])
@requires("privacy_request", "create")
@privacy_blp.arguments(c.PrivacyCreateSchema)
@privacy_blp.response(202, c.PrivacyRequestSchema)
@idempotent
def export_request(_args):
    return _privacy("export")


@privacy_blp.route("/requests", methods=["GET"])
@requires("privacy_request", "read")
@privacy_blp.arguments(c.PrivacyListArgs, location="query")
@privacy_blp.response(200, c.PrivacyRequestPage)
def list_privacy_requests(_args):
    return call("identity", "list_privacy_requests", query())


@privacy_blp.route("/requests/<request_id>", methods=["GET"])
@requires("privacy_request", "read")
@privacy_blp.response(200, c.PrivacyRequestSchema)
def get_privacy_request(request_id):
    return call("identity", "get_privacy_request", {"id": request_id})


blueprints = [auth_blp, me_blp, users_blp, customers_blp, teams_blp, roles_blp, keys_blp, audit_blp, privacy_blp]
