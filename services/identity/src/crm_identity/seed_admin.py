"""Create the first administrator: `python -m crm_identity.seed_admin` (idempotent).

CRM_ADMIN_EMAIL / CRM_ADMIN_PASSWORD when set; otherwise admin@crm.local with a generated password,
printed once. Runs against the migrated identity database; the password is logged nowhere else.
"""
from __future__ import annotations

import secrets
import string
import sys

from sqlalchemy.orm import Session

from crm_common import config, startup
from crm_common.db import make_engine, utcnow
from crm_identity.domain import passwords
from crm_identity.domain.users import by_email, normalize_email
from crm_identity.models import User

DEFAULT_EMAIL = "admin@crm.local"


def generate_password(length: int = 24) -> str:
    alphabet = string.ascii_letters + string.digits + "-_.!@#%+="
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if not passwords.policy_errors(candidate) and any(c.isdigit() for c in candidate) \
                and any(c.isupper() for c in candidate) and any(c.islower() for c in candidate):
            return candidate


def seed(engine, email: str | None = None, password: str | None = None) -> tuple[str, bool, str | None]:
    """(email, whether it was created now, the generated password to show once or None)."""
    email = normalize_email(email or config.env("CRM_ADMIN_EMAIL") or DEFAULT_EMAIL)
    given = password or config.env("CRM_ADMIN_PASSWORD")
    with Session(engine) as session, session.begin():
        if by_email(session, email) is not None:
            return email, False, None
        if given:
            problems = passwords.policy_errors(given, email)
            if problems:
                raise ValueError("CRM_ADMIN_PASSWORD " + "; ".join(problems))
        secret = given or generate_password()
        session.add(User(email=email, full_name="Administrator", password_hash=passwords.hash_password(secret),
                         is_active=True, roles=["admin"], territory_ids=[], password_changed_at=utcnow()))
    return email, True, (None if given else secret)


def main() -> int:
    startup.refuse_or_exit("seed-admin")
    engine = make_engine(config.database_url("identity"))
    try:
        email, created, generated = seed(engine)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if generated:
        print(f"administrator: {email} password: {generated} (shown once)")
    elif created:
        print(f"administrator: {email} (created with CRM_ADMIN_PASSWORD)")
    else:
        print(f"administrator: {email} (exists)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
