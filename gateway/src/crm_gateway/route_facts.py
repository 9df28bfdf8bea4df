"""What the app's hooks ask of a request's route -- its view, whether it is public, the permission it declares, the
body it takes -- worked out once per endpoint and method instead of from the view's attributes on every request."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from crm_gateway import auth
from crm_gateway.conventions import accepted_media_types, requires_json_body


@dataclass(frozen=True)
class RouteFacts:
    view: object
    public: bool  # reachable without credentials (@public, or a route of the API's document and docs)
    permission: tuple | None  # what the handler of the method declares (auth.declared_permission)
    json_body: bool  # a JSON body is required (conventions.requires_json_body)
    accepts: frozenset  # media types other than JSON the handler reads (conventions.accepts)


KEPT = 4096  # more endpoint and method pairs than the app has routes: a method no route knows is not kept


def of(app: Flask, req) -> RouteFacts | None:
    """The facts of the request's route in `app` (None: no route matched)."""
    rule = req.url_rule
    if rule is None:
        return None
    known: dict = app.extensions["crm_route_facts"]
    key = (rule.endpoint, req.method)
    facts = known.get(key)
    if facts is None:
        view = app.view_functions.get(rule.endpoint)
        if view is None:
            return None
        method = req.method
        facts = RouteFacts(view, auth.is_public(view, method) or rule.endpoint in app.extensions["crm_public_endpoints"],
                           auth.declared_permission(view, method), requires_json_body(view, method),
                           accepted_media_types(view, method))
        if len(known) < KEPT:
            known[key] = facts
    return facts
