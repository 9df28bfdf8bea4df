"""Schemathesis hooks of the contract fuzzing run (loaded through SCHEMATHESIS_HOOKS).

The fuzzing user keeps its own password. Schemathesis seeds its values with the caller's own id and
email (the token's `sub` and `email` claims), so it soon aims requests at the very user it runs as.
Deactivating itself, resetting its own MFA, narrowing its own roles or erasing its own email are
refused by the identity service (409): those requests go through as generated, and the test checks
that the user still gets in afterwards. One change to its own account is allowed and ends the
caller's sessions by design: a new password. A PATCH of the fuzzing user that sets a password is sent
to a user id that does not exist instead. Nothing else is changed and no operation is left out; every
rewrite is counted in the file named by CRM_FUZZ_REWRITES (the test prints how many).
"""
from __future__ import annotations

import os
import threading
import uuid

import schemathesis

SELF_ID = os.environ.get("CRM_FUZZ_USER_ID", "").lower()
REWRITES = os.environ.get("CRM_FUZZ_REWRITES")
USER_PATH = "/api/v1/users/{user_id}"
_lock = threading.Lock()


def _count(what: str) -> None:
    if REWRITES:
        with _lock, open(REWRITES, "a", encoding="utf-8") as out:
            out.write(what + "\n")


@schemathesis.hook
def before_call(context, case, kwargs):
    params, body = case.path_parameters, case.body
    if (case.operation.path == USER_PATH and case.method.upper() == "PATCH" and isinstance(params, dict)
            and str(params.get("user_id", "")).strip().lower() == SELF_ID
            and isinstance(body, dict) and "password" in body):
        params["user_id"] = str(uuid.uuid4())
        _count(f"PATCH {USER_PATH} with a password")


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx, value) -> bytes:
    """The ETL bulk form's body (NDJSON: its document states a string): sent as the text generated."""
    # a value that is not text (a negative test of the string the document states) goes as bytes that are not
    # text either (not UTF-8), which the route refuses
    return value.encode() if isinstance(value, str) else b"\xff\xfe" + repr(value).encode()
