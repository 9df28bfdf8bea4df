"""nameko entrypoints of the identity service (crm_common.entrypoint: one per contract, the event table)."""
from eventlet import patcher, tpool

import crm_identity_contracts as c
from crm_common.dependencies import Database
from crm_common.entrypoint import entrypoint
from crm_common.service_base import KernelService
from crm_common.stream import event_stream

from crm_identity import handlers
from crm_identity.domain import account, apikeys, audit, auth, passwords, privacy, roles, teams, tokens, users
from crm_identity.domain import email_tokens
from crm_identity.models import Base

# argon2 on OS threads, so the hub keeps serving other calls; only under eventlet (`nameko run`): a
# process that merely imports this module (a test) hashes inline
passwords.set_offload(tpool.execute if patcher.is_monkey_patched("thread") else None)
passwords.prepare_dummy()


class IdentityService(KernelService):
    name = "identity"
    db = Database(Base.metadata)
    # every event claimed and audited (a transaction's events together), some applied; an entry may wait a
    # little for others to share its transaction (IDENTITY_EVENT_BATCH_LINGER_MS)
    on_event = event_stream(handlers.HANDLERS, every_batch=handlers.claim_and_audit_many, every_claims=True,
                            batch=True, linger_ms=80)

    # signing in (keyword client_ip), and the caller's own account (keyword session_id on logout)
    login = entrypoint(c.LOGIN, auth.login)
    request_password_reset = entrypoint(c.REQUEST_PASSWORD_RESET, email_tokens.request_reset)
    confirm_password_reset = entrypoint(c.CONFIRM_PASSWORD_RESET, email_tokens.confirm_reset)
    verify_email = entrypoint(c.VERIFY_EMAIL, email_tokens.verify)
    refresh = entrypoint(c.REFRESH, auth.refresh)
    logout = entrypoint(c.LOGOUT, auth.logout)
    change_password = entrypoint(c.CHANGE_PASSWORD, account.change_password)
    mfa_enroll = entrypoint(c.MFA_ENROLL, account.mfa_enroll)
    mfa_verify = entrypoint(c.MFA_VERIFY, account.mfa_verify)
    mfa_disable = entrypoint(c.MFA_DISABLE, account.mfa_disable)
    get_me = entrypoint(c.GET_ME, account.get_me)
    update_me = entrypoint(c.UPDATE_ME, account.update_me)

    list_users = entrypoint(c.LIST_USERS, users.list_users)
    get_user = entrypoint(c.GET_USER, users.get)
    create_user = entrypoint(c.CREATE_USER, email_tokens.verifying(users.create))  # mails a verification token
    create_portal_customer = entrypoint(c.CREATE_PORTAL_CUSTOMER, users.create_customer)
    create_partner_user = entrypoint(c.CREATE_PARTNER_USER, email_tokens.verifying(users.create_partner_user))
    update_user = entrypoint(c.UPDATE_USER, users.update)
    deactivate_user = entrypoint(c.DEACTIVATE_USER, users.deactivate)
    reset_user_mfa = entrypoint(c.RESET_USER_MFA, users.reset_mfa)
    offboard_user = entrypoint(c.OFFBOARD_USER, privacy.offboard)

    list_teams = entrypoint(c.LIST_TEAMS, teams.list_teams)
    get_team = entrypoint(c.GET_TEAM, teams.get)
    create_team = entrypoint(c.CREATE_TEAM, teams.create)
    update_team = entrypoint(c.UPDATE_TEAM, teams.update)
    delete_team = entrypoint(c.DELETE_TEAM, teams.delete)

    list_roles = entrypoint(c.LIST_ROLES, roles.list_roles)
    get_role = entrypoint(c.GET_ROLE, roles.get)
    create_role = entrypoint(c.CREATE_ROLE, roles.create)
    update_role = entrypoint(c.UPDATE_ROLE, roles.update)
    delete_role = entrypoint(c.DELETE_ROLE, roles.delete)

    list_api_keys = entrypoint(c.LIST_API_KEYS, apikeys.list_keys)
    create_api_key = entrypoint(c.CREATE_API_KEY, apikeys.create)
    update_api_key = entrypoint(c.UPDATE_API_KEY, apikeys.update)
    revoke_api_key = entrypoint(c.REVOKE_API_KEY, apikeys.revoke)

    list_audit = entrypoint(c.LIST_AUDIT, audit.list_entries)

    create_privacy_request = entrypoint(c.CREATE_PRIVACY_REQUEST, privacy.create)  # keyword kind
    get_privacy_request = entrypoint(c.GET_PRIVACY_REQUEST, privacy.get)
    list_privacy_requests = entrypoint(c.LIST_PRIVACY_REQUESTS, privacy.list_requests)

    # the gateway's authentication: an API key (keyword `secret`, and `client_ip`); a user's token cutoff (`id`)
    authenticate_api_key = entrypoint(c.AUTHENTICATE_API_KEY, apikeys.authenticate_key)
    token_cutoff = entrypoint(c.TOKEN_CUTOFF, tokens.cutoff_of)
