"""What the signed-in user may use, from the grants `/me` gave at sign-in (`perms`: resource -> {action: scope},
"*" for any): the menu shows only the pages of resources the user's roles may read (`can` in templates).
The API still decides every call; this only keeps people from being offered pages they would be refused."""
from __future__ import annotations

from flask import session

from crm_common.context import Actor


def me() -> dict:
    """The user as /me answered at sign-in; a session from before grants were kept asks /me once more."""
    known = session.get("me") or {}
    if session.get("tokens") and "perms" not in known:
        from crm_console import api
        try:
            answer = api.call("GET", "/me")
        except api.ApiError:
            return known
        known = session["me"] = {**known, **keep(answer)}
    return known


def keep(answer: dict) -> dict:
    """What the console keeps of /me's answer in the server-side session."""
    return {"id": answer.get("id"), "full_name": answer.get("full_name"), "email": answer.get("email"),
            "roles": answer.get("roles") or [], "team_id": answer.get("team_id"), "kind": answer.get("kind"),
            "perms": answer.get("perms") or {}}


def can(resource: str, action: str = "read") -> bool:
    known = me()
    return Actor(roles=tuple(known.get("roles") or ()), perms=known.get("perms") or {}).can(resource, action)


def is_admin() -> bool:
    return "admin" in (me().get("roles") or [])
