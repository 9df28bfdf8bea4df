"""Contracts of the identity service: its events and the schemas of its RPC methods.

`import crm_identity_contracts as c` gives every name (`c.LOGIN`, `c.UserSchema`); the modules hold them by
area. The same schemas validate the gateway's requests (and document them in /openapi.json), load the
RPC input in the service and dump its output. Secrets (passwords, hashes, key secrets, MFA secrets)
appear only in the input schemas that need them and in the one-time answers that show them.
"""
from crm_identity_contracts.fields import (ROLE_NAME, EMAIL, PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH,
    PASSWORD_RULE, SECRET, OTP, Password, Grants, Grant)  # noqa: F401
from crm_identity_contracts.auth import (LoginSchema, RefreshSchema, LogoutSchema,
    TokenPairSchema, LoginEventData, LOGIN_SUCCEEDED, LOGIN_FAILED, LOGIN, REFRESH, LOGOUT, TOKEN_CUTOFF)  # noqa: F401
from crm_identity_contracts.account import (MeSchema, MeUpdateSchema, PasswordChangeSchema, MfaEnrollmentSchema,
    MfaVerifySchema, MfaDisableSchema, MfaStatusSchema, GET_ME, UPDATE_ME, CHANGE_PASSWORD, MFA_ENROLL,
    MFA_VERIFY, MFA_DISABLE)  # noqa: F401
from crm_identity_contracts.users import (UserSchema, UserCreateSchema, PortalCustomerCreateSchema,
    PartnerUserCreateSchema, CREATE_PARTNER_USER,
    UserUpdateSchema, UserListArgs, UserPage, UserEventData, UserUpdatedData, USER_CREATED, USER_UPDATED,
    USER_DEACTIVATED, LIST_USERS, GET_USER, CREATE_USER, CREATE_PORTAL_CUSTOMER, UPDATE_USER, DEACTIVATE_USER,
    RESET_USER_MFA)  # noqa: F401
from crm_identity_contracts.teams import (TeamSchema, TeamCreateSchema, TeamUpdateSchema, TeamListArgs,
    TeamPage, TeamEventData, TeamUpdatedData, TEAM_CREATED, TEAM_UPDATED, TEAM_DELETED, LIST_TEAMS, GET_TEAM,
    CREATE_TEAM, UPDATE_TEAM, DELETE_TEAM)  # noqa: F401
from crm_identity_contracts.roles import (RoleSchema, RoleCreateSchema, RoleUpdateSchema,
    RoleListArgs, RolePage, RoleEventData, ROLE_CREATED, ROLE_UPDATED, ROLE_DELETED, LIST_ROLES, GET_ROLE,
    CREATE_ROLE, UPDATE_ROLE, DELETE_ROLE)  # noqa: F401
from crm_identity_contracts.api_keys import (ApiKeySchema, ApiKeyCreatedSchema, ApiKeyCreateSchema,
    ApiKeyListArgs, ApiKeyPage, ApiKeyEventData, API_KEY_CREATED, API_KEY_REVOKED, LIST_API_KEYS,
    CREATE_API_KEY, UPDATE_API_KEY, REVOKE_API_KEY, AUTHENTICATE_API_KEY)  # noqa: F401
from crm_identity_contracts.audit import (AuditEntrySchema, AuditListArgs, AuditPage, LIST_AUDIT)  # noqa: F401
from crm_identity_contracts.privacy import (PrivacyPartSchema, PRIVACY_KINDS, PRIVACY_SERVICES,
    PrivacyCreateSchema, OffboardSchema, PrivacyPartStatusSchema, PrivacyRequestSchema, PrivacyListArgs,
    PrivacyRequestPage, PrivacyRequestedData, PRIVACY_REQUESTED, PRIVACY_PART_COMPLETED, CREATE_PRIVACY_REQUEST,
    GET_PRIVACY_REQUEST, LIST_PRIVACY_REQUESTS, OFFBOARD_USER)  # noqa: F401
from crm_identity_contracts.email_tokens import *  # noqa: F401,F403
