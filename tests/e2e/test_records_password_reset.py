"""A forgotten password reset from the mail catcher, and a new user's address verified: through the gateway, as
the person would (the mail kept as .eml under var/mail/ by the catcher the suite starts)."""
from __future__ import annotations

import email
import re
import time
from email import policy
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

NEW = "Fresh-Passw0rd-2026!"


def mail_to(suite, address: str, subject_word: str, timeout: float = 30) -> str:
    """The token of the newest mail to `address` whose subject holds `subject_word`."""
    directory = Path(suite.suite.env["CRM_MAIL_DIR"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(directory.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if message["To"] == address and subject_word in message["Subject"]:
                body = message.get_body(("plain",)).get_content()
                return re.search(r"token: (\S+)", body).group(1)
        time.sleep(0.3)
    raise AssertionError(f"no {subject_word} mail to {address}")


def test_a_forgotten_password_is_reset_from_the_mail(suite, admin):
    user = admin.create_user(["sales_rep"])
    known = suite.post("/api/v1/auth/password-reset", json={"email": user["email"].upper()})
    unknown = suite.post("/api/v1/auth/password-reset", json={"email": "nobody-at-all@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    token = mail_to(suite, user["email"], "Reset")
    assert token not in known.text

    weak = suite.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": "short"})
    assert weak.status_code == 422 and "password" in weak.json()["errors"]
    done = suite.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW})
    assert done.status_code == 204, done.text
    assert admin.login(user["email"], NEW).get("/api/v1/me").status_code == 200
    old = suite.post("/api/v1/auth/login", json={"email": user["email"], "password": user["password"]})
    assert old.status_code == 401
    again = suite.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": "An0ther-Passw0rd!"})
    assert again.status_code == 422 and "token" in again.json()["errors"]


def test_a_new_user_verifies_the_address_from_the_mail(suite, admin):
    user = admin.create_user(["sales_rep"])
    token = mail_to(suite, user["email"], "Confirm")
    assert suite.post("/api/v1/auth/verify-email", json={"token": "x" * 43}).status_code == 422
    assert suite.post("/api/v1/auth/verify-email", json={"token": token}).status_code == 204
