"""Schemathesis hooks of the contract fuzzing run (loaded through SCHEMATHESIS_HOOKS).

The fuzzing user never turns its own account off. Schemathesis seeds its values with the caller's own
id and email (the token's `sub` and `email` claims), so within a minute it PATCHes (new password,
`is_active: false`), deactivates, resets the MFA of or erases (a privacy erasure request for its
email) the very user it runs as; every later request is then a 401 and checks nothing. Until the
identity service refuses an administrator's change that would lock themself out, a request aimed at
the fuzzing user is sent to another target instead: a user id that does not exist, or another email.
Nothing else is changed and no operation is left out; every rewrite is counted in the file named by
CRM_FUZZ_REWRITES (the test prints how many).
"""
from __future__ import annotations

import os
import threading
import uuid

import schemathesis

SELF_ID = os.environ.get("CRM_FUZZ_USER_ID", "").lower()
SELF_EMAIL = os.environ.get("CRM_FUZZ_USER_EMAIL", "").strip().lower()
REWRITES = os.environ.get("CRM_FUZZ_REWRITES")
USER_PATHS = ("/api/v1/users/{user_id}", "/api/v1/users/{user_id}/mfa")
ERASURE_PATH = "/api/v1/privacy/erasure-requests"
_lock = threading.Lock()


def _count(what: str) -> None:
    if REWRITES:
        with _lock, open(REWRITES, "a", encoding="utf-8") as out:
            out.write(what + "\n")


@schemathesis.hook
def before_call(context, case, kwargs):
    path, method = case.operation.path, case.method.upper()
    params = case.path_parameters
    if (path in USER_PATHS and method in ("PATCH", "DELETE") and isinstance(params, dict)
            and str(params.get("user_id", "")).strip().lower() == SELF_ID):
        params["user_id"] = str(uuid.uuid4())
        _count(f"{method} {path}")
    body = case.body
    if (path == ERASURE_PATH and isinstance(body, dict) and isinstance(body.get("email"), str)
            and body["email"].strip().lower() == SELF_EMAIL):
        body["email"] = f"not-{uuid.uuid4().hex[:8]}-{SELF_EMAIL}"
        _count(f"{method} {path}")
