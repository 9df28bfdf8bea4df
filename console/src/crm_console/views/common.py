"""What every page needs: signed in or sent to the login page; problem+json errors beside the fields."""
from __future__ import annotations

import functools

from flask import request, session

from crm_console import api


def signed_in(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not session.get("tokens"):
            raise api.LoginRequired()
        return view(*args, **kwargs)
    return wrapper


def field_errors(exc: api.ApiError) -> dict[str, list[str]]:
    """problem+json `errors` as field -> messages (nested names flattened with dots)."""
    out: dict[str, list[str]] = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out.setdefault(prefix or "_schema", []).extend(value)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(f"{prefix}.{index}", inner)
        else:
            out.setdefault(prefix or "_schema", []).append(str(value))
    walk("", exc.errors)
    return out


def form_data(form, names) -> dict:
    """The filled-in fields of a form, as the API wants them (empty fields left out)."""
    return {name: form[name].strip() for name in names if form.get(name, "").strip()}


def list_page(path: str, filters: tuple, sorts: tuple, size: int = 25,
              extra: dict | None = None) -> tuple[dict, dict, str, dict]:
    """One page of a list as the query string asks: (page, filters used, sort, field errors); a filter the
    API refuses comes back as its message, with an empty page. `extra`: more parameters of the call itself."""
    params = {name: request.args[name].strip()[:200] for name in filters if request.args.get(name, "").strip()}
    sort = request.args.get("sort") if request.args.get("sort") in sorts else sorts[0]
    query = {**params, "sort": sort, "limit": size, **(extra or {})}
    if request.args.get("cursor"):
        query["cursor"] = request.args["cursor"]
    try:
        return api.call("GET", path, params=query), params, sort, {}
    except api.ApiError as exc:
        if exc.status != 422:
            raise
        return {"items": [], "next_cursor": None}, params, sort, field_errors(exc)


def visible(path: str) -> dict | None:
    """A linked record when the user may see it, else None (the page stays)."""
    try:
        return api.call("GET", path)
    except api.ApiError as exc:
        if exc.status not in (403, 404):
            raise
        return None
