"""The HTML of an e-mail template as a mail client needs it, with its Jinja tags kept intact.

`sanitise(html)`: `<style>` blocks inlined into the elements' `style` attributes (css_inline, no remote
stylesheet is ever fetched), then cleaned with nh3 to what a mail needs: the kernel's rich-text tags plus
images, layout tables and their presentational attributes, `style` attributes reduced to the CSS properties
in `CSS_PROPERTIES` (no `position`, no `url(...)` backgrounds, no `behavior`/`expression`). `<style>`
blocks cannot be kept: nh3 filters CSS only in attributes, so an unfiltered stylesheet would pass; media
queries are therefore lost (the usual price of inlined mail CSS).

`text_of(html)`: the text/plain part made from the HTML (paragraphs and line breaks kept, a link as
"label (url)"), its Jinja tags kept, so it is compiled once as a template of its own.

Both parsers would mangle Jinja tags (`{% if a > b %}` becomes `{% if a &gt; b %}`, a tag in an attribute
gets escaped), so every `{{ }}`, `{% %}` and `{# #}` is swapped for an opaque marker before parsing and put
back after.
"""
from __future__ import annotations

import re
import secrets
from html.parser import HTMLParser

import css_inline
import nh3

from crm_common import richtext

JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)

TAGS = richtext.TAGS | {"img", "center", "font", "caption", "col", "colgroup"}
ATTRIBUTES = {
    **{tag: set(names) for tag, names in richtext.ATTRIBUTES.items()},
    "*": {"style", "align", "valign", "dir", "lang", "title", "width", "height", "bgcolor"},
    "img": {"src", "alt", "width", "height", "border"},
    "table": {"cellpadding", "cellspacing", "border", "role", "summary"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "font": {"color", "face", "size"},
    "a": {"href", "title", "target", "name"},
}
CSS_PROPERTIES = {
    "color", "background-color", "font", "font-family", "font-size", "font-style", "font-weight", "line-height",
    "letter-spacing", "text-align", "text-decoration", "text-transform", "vertical-align", "white-space",
    "width", "max-width", "min-width", "height", "max-height", "min-height", "display", "direction",
    "margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
    "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
    "border", "border-top", "border-right", "border-bottom", "border-left", "border-color", "border-style",
    "border-width", "border-radius", "border-collapse", "border-spacing", "table-layout", "word-break",
    "mso-line-height-rule", "mso-table-lspace", "mso-table-rspace",
}
DROPPED_WITH_CONTENT = {"script", "style", "title", "head", "noscript", "template", "iframe", "object"}
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False, keep_link_tags=False)


class _Markers:
    """Jinja tags swapped for markers a parser keeps as plain words, and back."""

    def __init__(self, source: str):
        self.nonce = secrets.token_hex(6)
        self.tags: list[str] = []
        self.text = JINJA_TAG.sub(self._swap, source)

    def _swap(self, match: re.Match) -> str:
        self.tags.append(match.group(0))
        return f"jt{self.nonce}x{len(self.tags) - 1}x"

    def restore(self, text: str) -> str:
        return re.sub(rf"jt{self.nonce}x(\d+)x", lambda m: self.tags[int(m.group(1))], text)


def sanitise(source: str) -> str:
    """The template HTML with its styles inlined and only mail-safe markup kept (Jinja tags untouched)."""
    marked = _Markers(source)
    try:
        inlined = _INLINER.inline(marked.text) if "<style" in marked.text.lower() else marked.text
    except Exception as exc:  # noqa: BLE001 - css_inline's errors (bad CSS) have no common base
        raise ValueError(f"the <style> CSS could not be inlined: {exc}") from None
    cleaned = nh3.clean(inlined, tags=set(TAGS), clean_content_tags=set(DROPPED_WITH_CONTENT),
                        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
                        url_schemes=set(richtext.URL_SCHEMES), link_rel=richtext.LINK_REL, strip_comments=True,
                        filter_style_properties=set(CSS_PROPERTIES))
    return marked.restore(cleaned)


BLOCKS = {"p", "div", "table", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "blockquote", "pre", "hr",
          "center"}
SKIPPED = {"style", "script", "head", "title"}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.links: list[str | None] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag in BLOCKS:
            self.out.append("\n\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag == "td" or tag == "th":
            self.out.append(" ")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.out.append(alt)
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))

    def handle_endtag(self, tag):
        if tag in SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in BLOCKS:
            self.out.append("\n\n")
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href and not href.startswith("#"):
                self.out.append(f" ({href})")

    def handle_data(self, data):
        if not self.skipping:
            self.out.append(re.sub(r"\s+", " ", data))


def text_of(source: str) -> str:
    """The text/plain part of an HTML template (a template too: its Jinja tags are kept)."""
    marked = _Markers(source)
    parser = _Text()
    parser.feed(marked.text)
    parser.close()
    text = "".join(parser.out)
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return marked.restore(text) + "\n"

