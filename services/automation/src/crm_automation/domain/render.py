"""Texts of actions (titles, bodies, subjects, field values) with `{{ record.name }}` placeholders, rendered in
Jinja2's sandbox over the run's context: a workflow's author cannot reach Python objects through them.

Most texts are plain placeholders of context values (`New lead {{ record.company }}`): those are filled without
Jinja2 (a Jinja2 render costs a context of its own, about 60 µs, and the intake renders a title per notifying
run), giving what Jinja2 gives: a value's text, a null or missing last name empty. Anything else (filters,
tags, expressions, a name a dict has as an attribute, a non-scalar value, a missing name on the way) goes to
Jinja2 itself."""
from __future__ import annotations

import functools
import re

from jinja2 import TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(autoescape=False, undefined=Undefined,  # a missing value renders empty
                            finalize=lambda value: "" if value is None else value)  # and so does a null

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
_SYNTAX = ("{{", "{%", "{#", "#}", "%}")
_KEYWORDS = frozenset(("true", "false", "none", "True", "False", "None", "not", "and", "or", "in", "is", "if",
                       "else", "loop", "self", "super", "varargs", "kwargs", "caller"))
_SCALARS = (str, int, float, type(None))  # bool is an int: str(True), as Jinja2 prints it


@functools.lru_cache(maxsize=2048)
def _compiled(text: str):
    return _ENV.from_string(text)


@functools.lru_cache(maxsize=2048)
def _plain(text: str) -> tuple | None:
    """The text as (literal, path, literal, path, ..., literal) when it is only literal text and plain
    placeholders, else None (Jinja2 renders it)."""
    parts: list = []
    at = 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append(text[at:match.start()])
        path = tuple(match.group(1).split("."))
        if path[0] in _KEYWORDS or any(hasattr(dict, name) for name in path[1:]):
            return None
        parts.append(path)
        at = match.end()
    parts.append(text[at:])
    literals = parts[0::2]
    if any(marker in literal for literal in literals for marker in _SYNTAX) or text.endswith("\n"):
        return None  # Jinja2 syntax left, or a trailing newline (which Jinja2 drops)
    return tuple(parts)


_JINJA = object()


def _value(path: tuple, context: dict):
    """The placeholder's text as Jinja2 would print it, or _JINJA when only Jinja2 can say."""
    if path[0] not in context:
        return _JINJA  # a global of Jinja2's (range, dict, ...) or Undefined: Jinja2's to render
    value = context[path[0]]
    for depth, name in enumerate(path[1:], 1):
        if not isinstance(value, dict):
            return _JINJA
        if name not in value:
            return "" if depth == len(path) - 1 else _JINJA  # a missing last name renders empty
        value = value[name]
    if value is None:
        return ""
    return str(value) if isinstance(value, _SCALARS) else _JINJA


def render(value, context: dict):
    """`value` with its placeholders filled (a non-text value, or text without `{{`, as it is)."""
    if isinstance(value, str) and "{{" in value:
        parts = _plain(value)
        if parts is not None:
            out = [parts[0]]
            for i in range(1, len(parts), 2):
                text = _value(parts[i], context)
                if text is _JINJA:
                    break
                out += (text, parts[i + 1])
            else:
                return "".join(out)
        try:
            return _compiled(value).render(**context)
        except TemplateError as exc:
            raise ValueError(f"the text {value[:60]!r} does not render: {exc}") from None
    if isinstance(value, dict):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    return value
