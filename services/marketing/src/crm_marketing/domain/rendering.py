"""Rendering an e-mail template for one recipient: a sandbox that gives templates data and nothing else.

`render(template, recipient) -> Rendered(subject, html, text)`. The template's three parts are compiled once
per template id and version (`compiled`, a small LRU cache), so a send renders each recipient with the
compiled code only. Jinja2's `ImmutableSandboxedEnvironment`, narrowed further:

- no globals (no `range`, `cycler`, `lipsum`, `namespace`...), and no call of anything (a method, a filter's
  callable, `str.format`: `call` refuses them all);
- attribute and item access reach only the keys of the recipient's dicts (and list items): never a Python
  attribute, so `''.__class__` or `x.items` are refused;
- the filters in `FILTERS` only; `*`, `**` and `%` are intercepted so no expression builds a huge string or
  number; output over `MAX_OUTPUT` characters is refused;
- HTML is autoescaped (a contact named `<b>` stays text), subject and text are not; a missing value is an
  undefined that renders empty, so `|default("there")` works.

`check(source, part)` is what a save asks: the syntax, and only the recipient's names and fields, the
allowed filters and `if` (a loop or `{% set %}` could make a render as slow as the author likes), each
problem as "line N: why".
"""
from __future__ import annotations

import re
from collections import OrderedDict
from typing import NamedTuple

from jinja2 import TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from crm_marketing.domain import mail_html

FIELDS = {
    "contact": ("first_name", "last_name", "full_name", "email", "title", "company", "phone", "country",
                "industry", "lifecycle_stage", "score"),
    "account": ("name", "industry", "country", "grade"),
    "campaign": ("id", "name", "type"),
}
NAMES = frozenset(FIELDS) | {"unsubscribe_url"}  # unsubscribe_url: set by the sender (or the preview)
FILTERS = ("default", "d", "upper", "lower", "title", "capitalize", "trim", "truncate", "escape", "e",
           "urlencode", "round", "int", "length", "count", "first", "last", "join", "abs", "string")
ALLOWED_NODES = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.If, nodes.Name, nodes.Getattr,
                 nodes.Getitem, nodes.Const, nodes.Filter, nodes.Test, nodes.CondExpr, nodes.And, nodes.Or,
                 nodes.Not, nodes.Compare, nodes.Operand, nodes.Concat, nodes.Add, nodes.Sub, nodes.Mul,
                 nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Neg, nodes.Pos, nodes.List, nodes.Tuple,
                 nodes.Keyword)
STATEMENTS = {nodes.For: "{% for %}", nodes.Assign: "{% set %}", nodes.AssignBlock: "{% set %}",
              nodes.Macro: "{% macro %}", nodes.CallBlock: "{% call %}", nodes.Include: "{% include %}",
              nodes.Import: "{% import %}", nodes.FromImport: "{% from %}", nodes.Extends: "{% extends %}",
              nodes.Block: "{% block %}", nodes.With: "{% with %}", nodes.FilterBlock: "{% filter %}",
              nodes.Call: "a call", nodes.Scope: "a scope", nodes.ScopedEvalContextModifier: "{% autoescape %}"}
MAX_OUTPUT = 1_000_000  # characters of one rendered part
MAX_REPEAT = 10_000  # the longest string or list `*` may build, the largest exponent `**` may take
LOOP_FIELDS = frozenset({"index", "index0", "first", "last", "length", "revindex", "revindex0"})


class RenderError(ValueError):
    """A template that cannot be rendered for this recipient (its message is for the marketer)."""


class Rendered(NamedTuple):
    subject: str
    html: str
    text: str


class DataOnly(ImmutableSandboxedEnvironment):
    """The sandbox of every template part (see the module doc)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, autoescape: bool):
        super().__init__(autoescape=autoescape, undefined=Undefined, auto_reload=False, cache_size=0,
                         keep_trailing_newline=True)
        self.globals.clear()
        self.filters = {name: self.filters[name] for name in FILTERS}
        self.filters["truncate"] = _truncate

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - jinja's signature
        raise SecurityError("a template uses data only: nothing can be called")

    def getattr(self, obj, attribute):
        if isinstance(obj, dict) and isinstance(attribute, str) and not attribute.startswith("_"):
            return obj[attribute] if attribute in obj else self.undefined(obj=obj, name=attribute)
        if isinstance(obj, LoopContext) and attribute in LOOP_FIELDS:
            return getattr(obj, attribute)
        if isinstance(obj, Undefined):
            raise UndefinedError(f"{attribute!r} of something undefined")
        raise SecurityError(f"{attribute!r} is not data a template may read")

    def getitem(self, obj, argument):
        if isinstance(argument, str):
            return self.getattr(obj, argument)
        if isinstance(obj, (list, tuple, str)) and isinstance(argument, int) and not isinstance(argument, bool):
            try:
                return obj[argument]
            except IndexError:
                return self.undefined(obj=obj, name=str(argument))
        raise SecurityError(f"{argument!r} is not data a template may read")

    def call_binop(self, context, operator, left, right):
        if operator == "*":
            sized = (str, list, tuple)
            if isinstance(left, sized) and isinstance(right, int) or isinstance(right, sized) and isinstance(left, int):
                length = len(left if isinstance(left, sized) else right) * (right if isinstance(right, int) else left)
                if length > MAX_REPEAT:
                    raise SecurityError("a template may not build a string that long")
            return left * right
        if operator == "**":
            if not isinstance(right, (int, float)) or abs(right) > 64 or abs(left) > MAX_REPEAT:
                raise SecurityError("a template may not compute a number that large")
            return left ** right
        if isinstance(left, str):  # "%s" % x: string formatting is not data
            raise SecurityError("a template may not format strings with %")
        return left % right


def _truncate(value, length: int = 255, killwords: bool = False, end: str = "...", leeway: int | None = None):
    text = str(value)
    length = max(int(length), len(end))
    if len(text) <= length:
        return value
    cut = text[: length - len(end)]
    if not killwords:
        cut = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return cut + end


HTML_ENV, TEXT_ENV = DataOnly(autoescape=True), DataOnly(autoescape=False)


def check(source: str | None, part: str) -> list[str]:
    """The problems of one part's source ("line N: why"), empty when it is a template of data only."""
    if not source:
        return []
    env = HTML_ENV if part == "html" else TEXT_ENV
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        return [f"line {exc.lineno}: {exc.message}"]
    found = []
    for depth, node in enumerate(tree.find_all(nodes.Node)):
        problem = _refused(node)
        if problem:  # per line: a refused statement, then the innermost expression (`cycler.__init__` is
            # first of all an unknown name)
            statement = isinstance(node, tuple(STATEMENTS))
            found.append(((node.lineno or 0, 0 if statement else 1, -depth), f"line {node.lineno}: {problem}"))
    problems = list(dict.fromkeys(problem for _, problem in sorted(found)))
    if not problems:
        try:
            env.from_string(source)
        except TemplateError as exc:
            problems.append(f"line {getattr(exc, 'lineno', None) or 1}: {exc}")
    return problems


def _refused(node: nodes.Node) -> str | None:
    for kind, name in STATEMENTS.items():
        if isinstance(node, kind):
            return f"{name} is not allowed: a template uses data only (placeholders, filters, if)"
    if not isinstance(node, ALLOWED_NODES):
        return f"{type(node).__name__.lower()} is not allowed: a template uses data only"
    if isinstance(node, nodes.Name) and node.ctx == "load" and node.name not in NAMES:
        return f"unknown name {node.name!r}: a template may use {', '.join(sorted(NAMES))}"
    if isinstance(node, nodes.Getattr) or (isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const)
                                           and isinstance(node.arg.value, str)):
        field = node.attr if isinstance(node, nodes.Getattr) else node.arg.value
        if not isinstance(node.node, nodes.Name) or node.node.name not in FIELDS:
            return f"{field!r} is not a recipient field: use contact.<field>, account.<field> or campaign.<field>"
        if field not in FIELDS[node.node.name]:
            return (f"unknown field {node.node.name}.{field}: one of "
                    f"{', '.join(FIELDS[node.node.name])}")
    if isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Const):
        return "an item looked up by a computed key is not allowed"
    if isinstance(node, nodes.Mul) and any(isinstance(side, (nodes.Const, nodes.List, nodes.Tuple))
                                           and not isinstance(getattr(side, "value", 0), (int, float))
                                           for side in (node.left, node.right)):
        return "repeating text with * is not allowed: a template uses data only"
    if isinstance(node, nodes.Mod) and isinstance(node.left, nodes.Const) and isinstance(node.left.value, str):
        return "string formatting with % is not allowed: a template uses data only"
    if isinstance(node, nodes.Filter) and node.name not in FILTERS:
        return f"the filter {node.name!r} is not allowed: use one of {', '.join(FILTERS)}"
    return None


class Compiled(NamedTuple):
    subject: object
    html: object
    text: object


_CACHE: OrderedDict[tuple[str, int], Compiled] = OrderedDict()
CACHE_SIZE = 256


def compiled(template) -> Compiled:
    """The template's three parts compiled (once per id and version; the text part made from the HTML when
    the template has none)."""
    key = (template.id, template.version)
    found = _CACHE.get(key)
    if found is not None:
        _CACHE.move_to_end(key)
        return found
    try:
        found = Compiled(TEXT_ENV.from_string(template.subject), HTML_ENV.from_string(template.html),
                         TEXT_ENV.from_string(template.text or mail_html.text_of(template.html)))
    except TemplateError as exc:
        raise RenderError(f"the template does not compile: {exc}") from None
    if template.id is not None and template.version is not None:
        _CACHE[key] = found
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return found


def render(template, recipient: dict) -> Rendered:
    """The template for one recipient (`recipient_of`). Raises RenderError for what the sandbox refused or
    output over MAX_OUTPUT."""
    parts = compiled(template)
    try:
        subject = parts.subject.render(recipient)
        html = parts.html.render(recipient)
        text = parts.text.render(recipient)
    except (TemplateError, ArithmeticError, TypeError, ValueError) as exc:
        raise RenderError(f"the template could not be rendered: {exc}") from None
    if max(len(subject), len(html), len(text)) > MAX_OUTPUT:
        raise RenderError(f"a rendered part is over {MAX_OUTPUT} characters")
    return Rendered(" ".join(subject.split()), html, text)


def recipient_of(member, campaign=None) -> dict:
    """What a template sees of an audience member (and the campaign): only the values that are set, so a
    missing one is undefined and `|default(...)` applies."""
    contact = {name: getattr(member, name, None) for name in FIELDS["contact"]}
    names = [part for part in (member.first_name, member.last_name) if part]
    contact["full_name"] = " ".join(names) or None
    account = {"name": member.company, "industry": member.industry, "country": member.country,
               "grade": getattr(member, "grade", None)}
    campaign_data = {} if campaign is None else {"id": campaign.id, "name": campaign.name, "type": campaign.type}
    return {"contact": _set(contact), "account": _set(account), "campaign": _set(campaign_data)}


def _set(values: dict) -> dict:
    return {name: value for name, value in values.items() if value is not None and value != ""}


__all__ = ["Markup", "RenderError", "Rendered", "check", "compiled", "recipient_of", "render"]
