"""Texts of actions (titles, bodies, subjects, field values) with `{{ record.name }}` placeholders, rendered in
Jinja2's sandbox over the run's context: a workflow's author cannot reach Python objects through them."""
from __future__ import annotations

import functools

from jinja2 import TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(autoescape=False, undefined=Undefined,  # a missing value renders empty
                            finalize=lambda value: "" if value is None else value)  # and so does a null


@functools.lru_cache(maxsize=2048)
def _compiled(text: str):
    return _ENV.from_string(text)


def render(value, context: dict):
    """`value` with its placeholders filled (a non-text value, or text without `{{`, as it is)."""
    if isinstance(value, str) and "{{" in value:
        try:
            return _compiled(value).render(**context)
        except TemplateError as exc:
            raise ValueError(f"the text {value[:60]!r} does not render: {exc}") from None
    if isinstance(value, dict):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    return value
