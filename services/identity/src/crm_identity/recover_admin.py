"""Recover a lost or locked-out administrator from the host: `python -m crm_identity.recover_admin --email X`.

Run on the machine (or in the container) that holds identity's configuration; it talks to identity's
database directly, so it works while nobody can sign in. For the account with that email it: creates it
when missing, re-activates it, adds the built-in `admin` role, sets a new password (generated and printed
once, or read from standard input with --password-stdin), forgets its failed logins, ends its sessions,
and with --reset-mfa turns its second factor off. An erased account is not brought back (its email is
gone): give another email. The change goes through identity's outbox as `identity.user_created.v1` or
`identity.user_updated.v1` by the system actor with request id `recover-admin:<host>:<uuid>`, so it lands
in the audit trail, and in the other services, once identity runs.
"""
from __future__ import annotations

import argparse
import socket
import sys
import uuid

from sqlalchemy.orm import Session

import crm_identity_contracts as c
from crm_common import config, outbox
from crm_common.context import Actor
from crm_common.db import make_engine, utcnow
from crm_identity.domain import mfa, passwords, throttle, tokens
from crm_identity.domain.admins import ADMIN_ROLE
from crm_identity.domain.users import by_email, event_data, normalize_email
from crm_identity.models import Base, User
from crm_identity.seed_admin import generate_password

RECOVERY_ACTOR = Actor(user_id=None, kind="system", roles=("system",))


class RecoveryError(Exception):
    pass


def recover(engine, email: str, password: str | None = None, reset_mfa: bool = False) -> dict:
    """Re-enable (or create) the administrator `email`; returns what was done, with the password to show
    once when it was generated."""
    email = normalize_email(email)
    secret = password or generate_password()
    problems = passwords.policy_errors(secret, email)
    if problems:
        raise RecoveryError("the password " + "; ".join(problems))
    request_id = f"recover-admin:{socket.gethostname()[:60]}:{uuid.uuid4()}"
    with Session(engine, expire_on_commit=False) as session, session.begin():
        user = by_email(session, email)
        if user is not None and user.kind == "customer":
            raise RecoveryError(f"{email} is a portal customer; give a staff email")
        created = user is None
        if created:
            user = User(email=email, full_name="Administrator", is_active=True, roles=[ADMIN_ROLE], territory_ids=[])
            session.add(user)
        changed = ["password"]
        if not user.is_active:
            user.is_active, user.deactivated_at = True, None
            changed.append("is_active")
        if ADMIN_ROLE not in (user.roles or []):
            user.roles = sorted(set(user.roles or []) | {ADMIN_ROLE})
            changed.append("roles")
        user.password_hash = passwords.hash_password(secret)
        user.password_changed_at = utcnow()
        if reset_mfa and mfa.clear(user):
            changed.append("mfa_enabled")
        session.flush()
        cleared = throttle.clear_account(session, throttle.email_hash(email))
        if not created:
            tokens.revoke_user(session, user.id)
        session.flush()
        if created:
            outbox.record(session, Base.metadata, "identity", c.USER_CREATED, event_data(user), RECOVERY_ACTOR,
                          request_id)
        else:
            outbox.record(session, Base.metadata, "identity", c.USER_UPDATED, event_data(user, changed),
                          RECOVERY_ACTOR, request_id)
    return {"email": email, "user_id": user.id, "created": created, "changed": changed,
            "failed_logins_cleared": cleared, "request_id": request_id,
            "password": None if password else secret}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crm_identity.recover_admin",
                                     description="Re-enable or create an administrator from the host.")
    parser.add_argument("--email", required=True, help="the administrator's email (created when missing)")
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the new password from standard input instead of generating one")
    parser.add_argument("--reset-mfa", action="store_true", help="also turn the account's second factor off")
    args = parser.parse_args(argv)
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            print("error: no password on standard input", file=sys.stderr)
            return 2
    engine = make_engine(config.database_url("identity"))
    try:
        done = recover(engine, args.email, password, args.reset_mfa)
    except RecoveryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    what = "created" if done["created"] else "re-enabled (" + ", ".join(done["changed"]) + ")"
    print(f"administrator {done['email']} {what}; {done['failed_logins_cleared']} failed login(s) cleared; "
          f"sessions ended; audited as request {done['request_id']}")
    if done["password"]:
        print(f"password: {done['password']} (shown once)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
