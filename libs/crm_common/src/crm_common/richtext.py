"""Rich text written by people (HTML), cleaned with nh3 before it is stored.

Services call `clean(html)` on write for every field the API documents as rich text, so what is
stored and returned is already safe to render. The allowed set is small and documented (README.md,
"Rich text"):

- tags: the ones in `TAGS` (paragraphs, line breaks, emphasis, headings, lists, quotes, code, tables,
  links); any other tag is removed and its text kept; `<script>` and `<style>` go with their content;
- attributes: only those in `ATTRIBUTES` (e.g. `href` and `title` on links); event handlers
  (`onerror`, `onclick`...), `style`, `class` and `id` are removed;
- links: `href` only with a scheme in `URL_SCHEMES` (http, https, mailto) or relative; a
  `javascript:` or `data:` link loses its `href`; every link gets `rel="noopener noreferrer"`;
- comments are removed, and text is escaped (`<` becomes `&lt;`, `&` becomes `&amp;`).

Images are not allowed: a remote image in a customer's text would be fetched by every agent's browser.
"""
from __future__ import annotations

import nh3

TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "ins", "kbd", "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
})
ATTRIBUTES = {
    "a": frozenset({"href", "title"}),
    "abbr": frozenset({"title"}),
    "ol": frozenset({"start"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan", "scope"}),
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer"


def clean(html: str | None) -> str | None:
    """`html` with only the allowed tags, attributes and link schemes (None stays None)."""
    if html is None:
        return None
    return nh3.clean(html, tags=set(TAGS), attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
                     url_schemes=set(URL_SCHEMES), link_rel=LINK_REL, strip_comments=True)


def clean_fields(data: dict, *names: str) -> dict:
    """A copy of `data` whose fields `names` (those present) are cleaned."""
    return {**data, **{name: clean(data[name]) for name in names if name in data}}
