"""Macros: canned replies. Managers keep them; agents list the ones they may use (no team, or their own
team's) and render one on a ticket they can see.

A macro's body is text with placeholders ({{ ticket.number }}, {{ ticket.subject }}, {{ requester.name }},
{{ agent.name }}) and nothing else: `check` parses it in Jinja2's ImmutableSandboxedEnvironment and refuses any
other construct (a filter, a call, a statement, another name) as a 422 on `body`, so rendering is only
filling in data. The filled body is plain text (the console escapes it like any reply).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import false, or_, select, true

import crm_service_desk_contracts as c
from crm_common.errors import not_found, validation
from crm_service_desk.domain.records import apply_changes, load, page, soft_delete
from crm_service_desk.domain.visibility import visible_ticket
from crm_service_desk.models import AgentCopy, ContactCopy, Macro

if TYPE_CHECKING:
    from crm_common.context import Actor, Context

FIELDS = {"ticket": ("number", "subject"), "requester": ("name",), "agent": ("name",)}
_ENV = ImmutableSandboxedEnvironment(autoescape=False, auto_reload=False, cache_size=0, keep_trailing_newline=True)
_ENV.globals.clear()


def check(body: str) -> str:
    """The body if its only Jinja is the placeholders (a validation error on `body` otherwise)."""
    try:
        tree = _ENV.parse(body)
        problems = _problems(tree)
    except TemplateSyntaxError as exc:
        raise validation({"body": [f"line {exc.lineno}: {exc.message}"]}) from None
    except RecursionError:  # brackets or blocks nested thousands deep
        raise validation({"body": ["nested too deeply"]}) from None
    if problems:
        raise validation({"body": list(dict.fromkeys(problems))})
    return body


def _problems(tree: nodes.Template) -> list[str]:
    problems = []
    for node in tree.find_all(nodes.Node):
        if isinstance(node, (nodes.Template, nodes.Output, nodes.TemplateData)):
            continue
        if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name) \
                and node.attr in FIELDS.get(node.node.name, ()):
            continue
        if isinstance(node, nodes.Name) and node.name in FIELDS:
            continue  # the object of a placeholder (a bare one is refused as its Output's only child below)
        problems.append(f"line {node.lineno}: only the placeholders {', '.join(c.PLACEHOLDERS)} are allowed")
    for output in tree.find_all(nodes.Output):
        for child in output.nodes:
            if isinstance(child, nodes.Name):
                problems.append(f"line {child.lineno}: {{{{ {child.name} }}}} names no field: "
                                f"use one of {', '.join(c.PLACEHOLDERS)}")
    return problems


def _visible(actor: Actor):
    """Which macros the caller sees: managers (scope all) every one; others the shared ones and their team's."""
    level = actor.scope("macro", "read")
    if level == "none":
        return false()
    if level == "all":
        return true()
    return or_(Macro.team_id.is_(None), Macro.team_id == actor.team_id) if actor.team_id else Macro.team_id.is_(None)


def _load(ctx: Context, macro_id: str, for_update: bool = False) -> Macro:
    macro = load(ctx.session, Macro, macro_id, "macro", for_update=for_update)
    if not ctx.session.execute(select(Macro.id).where(Macro.id == macro.id, _visible(ctx.caller))).first():
        raise not_found("macro")
    return macro


def _event(macro: Macro, changed: list[str] | None = None) -> dict:
    data = {"entity": "macro", "id": macro.id, "name": macro.name}
    if changed is not None:
        data["changed_fields"] = changed
    return data


def create(ctx: Context, data: dict) -> Macro:
    macro = Macro(name=data["name"], body=check(data["body"]), public=data["public"], team_id=data.get("team_id"),
                  created_by=ctx.caller.user_id)
    ctx.session.add(macro)
    ctx.session.flush()
    ctx.emit(c.CONFIG_CREATED, _event(macro))
    return macro


def get(ctx: Context, macro_id: str) -> Macro:
    return _load(ctx, macro_id)


def list_macros(ctx: Context, args: dict) -> dict:
    query = select(Macro).where(Macro.deleted_at.is_(None), _visible(ctx.caller))
    if args.get("team_id"):
        query = query.where(Macro.team_id == args["team_id"])
    if args.get("q"):
        query = query.where(Macro.name.ilike(f"%{args['q']}%"))
    return page(ctx.session, query, Macro, args, c.MacroQuery.SORTABLE)


def update(ctx: Context, macro_id: str, data: dict, expected_version: int | None = None) -> Macro:
    macro = _load(ctx, macro_id, for_update=True)
    if "body" in data:
        check(data["body"])
    changed = apply_changes(macro, data, expected_version)
    if changed:
        ctx.session.flush()
        ctx.emit(c.CONFIG_UPDATED, _event(macro, changed))
    return macro


def remove(ctx: Context, macro_id: str, expected_version: int | None = None) -> None:
    macro = _load(ctx, macro_id, for_update=True)
    soft_delete(macro, expected_version)
    ctx.emit(c.CONFIG_DELETED, _event(macro))


def render(ctx: Context, ticket_id: str, macro_id: str) -> dict:
    """The macro's body filled from the ticket the caller can see (404 for a ticket or macro out of sight)."""
    session, actor = ctx.session, ctx.caller
    ticket = visible_ticket(session, actor, ticket_id)
    macro = _load(ctx, macro_id)
    requester = ticket.requester_name
    if not requester and ticket.contact_id:
        contact = session.get(ContactCopy, ticket.contact_id)
        if contact is not None:
            requester = " ".join(p for p in (contact.first_name, contact.last_name) if p) or None
    agent = session.get(AgentCopy, actor.user_id) if actor.user_id else None
    values = {"ticket": {"number": ticket.number, "subject": ticket.subject},
              "requester": {"name": requester or ticket.requester_email or ""},
              "agent": {"name": (agent.full_name if agent is not None else None) or actor.email or ""}}
    body = _ENV.from_string(check(macro.body)).render(values)
    return {"macro_id": macro.id, "ticket_id": ticket.id, "body": body, "public": macro.public}
