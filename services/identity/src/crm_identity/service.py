"""nameko entrypoints of the identity service: thin, validating, calling plain domain functions."""
from eventlet import patcher, tpool

from crm_common.contracts import identity as c
from crm_common.dependencies import Database
from crm_common.errors import ServiceError, not_found
from crm_common.rpc import contract_rpc, rpc
from crm_common import service_base
from crm_common.stream import event_stream

from crm_identity import handlers
from crm_identity.domain import apikeys, audit, auth, mfa, passwords, privacy, roles, teams, tokens, users
from crm_identity.models import Base, User

# argon2 on OS threads, so the hub keeps serving other calls; only under eventlet (`nameko run`): a
# process that merely imports this module (a test) hashes inline
passwords.set_offload(tpool.execute if patcher.is_monkey_patched("thread") else None)
passwords.prepare_dummy()


class IdentityService(service_base.KernelService):
    name = "identity"
    db = Database(Base.metadata)

    @event_stream
    def on_event(self, envelope, session):
        handlers.dispatch(session, envelope, self.db)

    # -- signing in ------------------------------------------------------------------------------
    @contract_rpc(c.LOGIN)
    def login(self, data, client_ip=None):
        with self.db.transaction() as session:
            outcome = auth.login(session, self.db.emit, data["email"], data["password"], data.get("otp"), client_ip)
        if outcome.error:  # the failure and its event are committed; now refuse
            raise outcome.error
        return outcome.result

    @contract_rpc(c.REFRESH)
    def refresh(self, data, client_ip=None):
        with self.db.transaction() as session:
            outcome = auth.refresh(session, data["refresh_token"])
        if outcome.error:  # a reused token's chain is revoked (committed); now refuse
            raise outcome.error
        return outcome.result

    @contract_rpc(c.LOGOUT)
    def logout(self, data):
        person = self._person()
        with self.db.transaction() as session:
            auth.logout(session, person, data.get("refresh_token"), data.get("session_id"))

    @contract_rpc(c.CHANGE_PASSWORD)
    def change_password(self, data):
        person = self._person()
        with self.db.transaction() as session:
            user = users.change_password(session, person, data["current_password"], data["new_password"])
            self.db.emit(c.USER_UPDATED, users.event_data(user, ["password"]))

    @contract_rpc(c.MFA_ENROLL)
    def mfa_enroll(self, data=None):
        with self.db.transaction() as session:
            return mfa.enroll(self._me(session))

    @contract_rpc(c.MFA_VERIFY)
    def mfa_verify(self, data):
        with self.db.transaction() as session:
            user = self._me(session)
            mfa.verify_enrollment(user, data["otp"])
            session.flush()
            self.db.emit(c.USER_UPDATED, users.event_data(user, ["mfa_enabled"]))
            return {"mfa_enabled": True}

    @contract_rpc(c.MFA_DISABLE)
    def mfa_disable(self, data):
        with self.db.transaction() as session:
            user = self._me(session)
            mfa.disable(user, data["password"], data["otp"])
            session.flush()
            self.db.emit(c.USER_UPDATED, users.event_data(user, ["mfa_enabled"]))
            return {"mfa_enabled": False}

    @contract_rpc(c.GET_ME)
    def get_me(self, data=None):
        actor = self._caller()
        with self.db.read() as conn:
            me = users.active_record(conn, actor.user_id)
        if me is None:
            raise not_found("user")
        # territories as the gateway resolved them now: the record's and the sales rosters listing the user
        return {**me, "kind": actor.kind, "roles": list(actor.roles), "perms": actor.perms,
                "territory_ids": list(actor.territory_ids)}

    @contract_rpc(c.UPDATE_ME)
    def update_me(self, data):
        person = self._person()
        with self.db.transaction() as session:
            user, changed = users.update_self(session, person, data)
            if changed:
                self.db.emit(c.USER_UPDATED, users.event_data(user, changed))
            return users.to_dict(user)

    # -- users -----------------------------------------------------------------------------------
    @contract_rpc(c.LIST_USERS)
    def list_users(self, args):
        with self.db.transaction() as session:
            return users.list_users(session, self.db.caller, args)

    @contract_rpc(c.GET_USER)
    def get_user(self, data):
        with self.db.transaction() as session:
            return users.to_dict(users.load(session, self.db.caller, data["id"]))

    @contract_rpc(c.CREATE_USER)
    def create_user(self, data):
        with self.db.transaction() as session:
            user = users.create(session, self.db.caller, data)
            self.db.emit(c.USER_CREATED, users.event_data(user))
            return users.to_dict(user)

    @contract_rpc(c.CREATE_PORTAL_CUSTOMER)
    def create_portal_customer(self, data):
        caller = self.db.caller
        if not (caller.can("user", "create") or caller.scope("ticket", "admin") == "all"):
            raise ServiceError("forbidden", "portal customers are created by administrators and support managers")
        with self.db.transaction() as session:
            user = users.create_customer(session, caller, data)
            self.db.emit(c.USER_CREATED, users.event_data(user))
            return users.to_dict(user)

    @contract_rpc(c.UPDATE_USER)
    def update_user(self, data):
        with self.db.transaction() as session:
            user, changed = users.update(session, self.db.caller, data["id"], data["changes"],
                                         data.get("expected_version"))
            if changed:
                self.db.emit(c.USER_UPDATED, users.event_data(user, changed))
                if "is_active" in changed and not user.is_active:
                    self.db.emit(c.USER_DEACTIVATED, users.event_data(user))
            return users.to_dict(user)

    @contract_rpc(c.DEACTIVATE_USER)
    def deactivate_user(self, data):
        with self.db.transaction() as session:
            user = users.deactivate(session, self.db.caller, data["id"], data.get("expected_version"))
            if user is not None:
                self.db.emit(c.USER_DEACTIVATED, users.event_data(user))

    @contract_rpc(c.RESET_USER_MFA)
    def reset_user_mfa(self, data):
        with self.db.transaction() as session:
            user = users.reset_mfa(session, self.db.caller, data["id"], data.get("expected_version"))
            if user is not None:
                self.db.emit(c.USER_UPDATED, users.event_data(user, ["mfa_enabled"]))

    # -- teams -----------------------------------------------------------------------------------
    @contract_rpc(c.LIST_TEAMS)
    def list_teams(self, args):
        with self.db.transaction() as session:
            return teams.list_teams(session, self.db.caller, args)

    @contract_rpc(c.GET_TEAM)
    def get_team(self, data):
        with self.db.transaction() as session:
            return teams.to_dict(session, teams.load(session, self.db.caller, data["id"]))

    @contract_rpc(c.CREATE_TEAM)
    def create_team(self, data):
        with self.db.transaction() as session:
            team, moved = teams.create(session, self.db.caller, data)
            self.db.emit(c.TEAM_CREATED, teams.event_data(session, team))
            self._emit_moved(moved)
            return teams.to_dict(session, team)

    @contract_rpc(c.UPDATE_TEAM)
    def update_team(self, data):
        with self.db.transaction() as session:
            team, changed, moved = teams.update(session, self.db.caller, data["id"], data["changes"],
                                                data.get("expected_version"))
            if changed:
                self.db.emit(c.TEAM_UPDATED, teams.event_data(session, team, changed))
            self._emit_moved(moved)
            return teams.to_dict(session, team)

    @contract_rpc(c.DELETE_TEAM)
    def delete_team(self, data):
        with self.db.transaction() as session:
            deleted = teams.delete(session, self.db.caller, data["id"], data.get("expected_version"))
            self.db.emit(c.TEAM_DELETED, deleted)

    def _emit_moved(self, moved):
        for user in moved:
            self.db.emit(c.USER_UPDATED, users.event_data(user, ["team_id"]))

    # -- roles -----------------------------------------------------------------------------------
    @contract_rpc(c.LIST_ROLES)
    def list_roles(self, args):
        with self.db.transaction() as session:
            return roles.list_roles(session, self.db.caller, args)

    @contract_rpc(c.GET_ROLE)
    def get_role(self, data):
        with self.db.transaction() as session:
            return roles.get(session, self.db.caller, data["id"])

    @contract_rpc(c.CREATE_ROLE)
    def create_role(self, data):
        with self.db.transaction() as session:
            role = roles.create(session, self.db.caller, data)
            self.db.emit(c.ROLE_CREATED, {"id": role.id, "name": role.name, "changed_fields": []})
            return roles.to_dict(role)

    @contract_rpc(c.UPDATE_ROLE)
    def update_role(self, data):
        with self.db.transaction() as session:
            role, changed = roles.update(session, self.db.caller, data["id"], data["changes"],
                                         data.get("expected_version"))
            if "permissions" in changed:  # its holders' grants changed: they sign in again
                for holder in roles.users_with(session, role.name):
                    tokens.revoke_user(session, holder.id)
            if changed:
                self.db.emit(c.ROLE_UPDATED, {"id": role.id, "name": role.name, "changed_fields": changed})
            return roles.to_dict(role)

    @contract_rpc(c.DELETE_ROLE)
    def delete_role(self, data):
        with self.db.transaction() as session:
            role = roles.delete(session, self.db.caller, data["id"], data.get("expected_version"))
            self.db.emit(c.ROLE_DELETED, {"id": role.id, "name": role.name, "changed_fields": []})

    # -- API keys --------------------------------------------------------------------------------
    @contract_rpc(c.LIST_API_KEYS)
    def list_api_keys(self, args):
        with self.db.transaction() as session:
            return apikeys.list_keys(session, self.db.caller, args)

    @contract_rpc(c.CREATE_API_KEY)
    def create_api_key(self, data):
        with self.db.transaction() as session:
            key, secret = apikeys.create(session, self.db.caller, data)
            self.db.emit(c.API_KEY_CREATED, apikeys.event_data(key))
            return {**apikeys.to_dict(key), "key": secret}

    @contract_rpc(c.REVOKE_API_KEY)
    def revoke_api_key(self, data):
        with self.db.transaction() as session:
            key = apikeys.revoke(session, self.db.caller, data["id"])
            if key is not None:
                self.db.emit(c.API_KEY_REVOKED, apikeys.event_data(key))

    @rpc
    def authenticate_api_key(self, key, client_ip=None):
        with self.db.transaction() as session:
            record, actor = apikeys.verify(session, key)
            # api_key_id: the gateway drops its cached copy of a key it revokes
            return actor.to_dict() | {"client_ip": client_ip, "api_key_id": record.id}

    @rpc
    def token_cutoff(self, user_id):
        """For the gateway: may this user's access tokens still be used, which not, and the user's team and
        territories now (domain.tokens.cutoff)."""
        with self.db.transaction() as session:
            return tokens.cutoff(session, session.get(User, str(user_id)))

    # -- audit -----------------------------------------------------------------------------------
    @contract_rpc(c.LIST_AUDIT)
    def list_audit(self, args):
        with self.db.transaction() as session:
            return audit.list_entries(session, self.db.caller, args)

    # -- privacy ---------------------------------------------------------------------------------
    @contract_rpc(c.CREATE_PRIVACY_REQUEST)
    def create_privacy_request(self, data):
        with self.db.transaction() as session:
            request = privacy.create(session, self.db.caller, data["kind"], data["email"])
            self._start_privacy(session, request)
            return privacy.to_dict(request)

    @contract_rpc(c.OFFBOARD_USER)
    def offboard_user(self, data):
        with self.db.transaction() as session:
            request, was_active = privacy.offboard(session, self.db.caller, data["id"], data["confirm_email"])
            for user in self._start_privacy(session, request):
                if was_active:
                    self.db.emit(c.USER_DEACTIVATED, users.event_data(user))
            return privacy.to_dict(request)

    def _start_privacy(self, session, request) -> list[User]:
        """Announce the request, do identity's part; returns the users an erasure anonymised."""
        self.db.emit(c.PRIVACY_REQUESTED, {"request_id": request.id, "kind": request.kind, "email": request.email})
        part, erased = privacy.own_part(session, request)
        for user in erased:
            self.db.emit(c.USER_UPDATED, users.event_data(user, ["email", "full_name", "is_active"]))
        privacy.apply_part(session, part)
        self.db.emit(c.PRIVACY_PART_COMPLETED, part)
        return erased

    @contract_rpc(c.GET_PRIVACY_REQUEST)
    def get_privacy_request(self, data):
        with self.db.transaction() as session:
            return privacy.to_dict(privacy.get(session, self.db.caller, data["id"]))

    @contract_rpc(c.LIST_PRIVACY_REQUESTS)
    def list_privacy_requests(self, args):
        with self.db.transaction() as session:
            return privacy.list_requests(session, self.db.caller, args)

    # -- helpers ---------------------------------------------------------------------------------
    def _caller(self):
        actor = self.db.actor
        if actor is None or not actor.user_id:
            raise ServiceError("unauthenticated", "sign in first")
        return actor

    def _person(self):
        """The caller, when a person acting on their own account (not an API key acting for its owner)."""
        actor = self._caller()
        if actor.kind not in auth.PEOPLE:
            raise ServiceError("forbidden", auth.OWN_ACCOUNT_ONLY)
        return actor

    def _me(self, session) -> User:
        user = session.get(User, self._person().user_id)
        if user is None or not user.is_active:
            raise not_found("user")
        return user
