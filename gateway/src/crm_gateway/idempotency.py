"""`Idempotency-Key` on POST: a repeat within 24 h returns the first response and creates nothing.

Every keyed POST goes to a service whose answers keep the key (the route table's, conventions; the exports), so
every such route is `kept_by_service`: the gateway checks the key and hands it, with the request's fingerprint
(the hash of its method, path and body), signed with the caller, to the route's call (`g.idempotent`,
`passed_on`). The service keeps the key with its
answer in the transaction that made the record, and answers a repeat with that answer (crm_common.idempotency,
crm_common.entrypoint.run_once): nothing runs again, and its reply says it is the kept answer (the call's
`on_replay`), so the response carries `Idempotent-Replayed: true`. The same key with another request is its
422. A repeat sent while the first still runs waits there for the first's commit (PostgreSQL: on the key's unique
index, then it is rolled back and answers the kept answer; SQLite: the service's write lock) and gets the
first answer. A refusal or a 5xx keeps nothing (the service's transaction rolled back): the retry runs again, so a
retry after a replica died between its commit and its answer (the gateway's 503) gets the first 201 and the same
record. Nothing is written here: the service's key is the one record of the request, and an erasure forgets the
answers its services kept naming the person as the request reaches them. (A key used once on one service's route
and again on another's is not known to the second, which makes its record: keys are the client's, one a request.)
"""
from __future__ import annotations

import functools
import hashlib
import re

from flask import current_app, g, request

from crm_common.errors import ServiceError
from crm_common.idempotency import Idempotent, fingerprint

KEY_RE = re.compile(r"^[A-Za-z0-9_.:-]{8,200}$")


def kept_by_service(view):
    """`Idempotency-Key` on a view whose call carries it (`passed_on`) to a service that keeps its answers (see
    the module doc): the key checked, its fingerprint handed to the call; nothing kept here."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        req = request._get_current_object()
        key = req.headers.get("Idempotency-Key")
        if not key:
            return view(*args, **kwargs)
        if not KEY_RE.match(key):
            raise ServiceError("validation_failed", "Idempotency-Key must be 8 to 200 letters, digits or ._:-",
                               errors={"Idempotency-Key": ["invalid format"]})
        digest = hashlib.sha256(req.get_data() or b"").hexdigest()
        ctx = g._get_current_object()
        ctx.idempotent = Idempotent(key, fingerprint(f"{req.method} {req.path}", digest))
        answer = view(*args, **kwargs)
        if not ctx.pop("idempotent_replayed", False):
            return answer
        response = current_app.make_response(answer)  # the answer its service kept for the key
        response.headers["Idempotent-Replayed"] = "true"
        return response

    return wrapper


def replayed_by_service() -> None:
    """The route's call was answered with the answer its service kept for the request's key (nothing ran
    there; crm_common.entrypoint.run_once): the response says it is a replay (the call's `on_replay`)."""
    g.idempotent_replayed = True


def passed_on() -> dict:
    """The keywords a route's call to its service carries for the request's Idempotency-Key (none without one):
    the key and fingerprint, kept by the service with what it makes, and `replayed_by_service` as `on_replay`."""
    idempotent = g.get("idempotent")
    if idempotent is None:
        return {}
    return {"idempotent": idempotent, "on_replay": replayed_by_service}
