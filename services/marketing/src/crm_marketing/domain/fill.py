"""A send's template made ready once: literal parts with per-recipient values (and its tracked links' and
pixel's places), so each message is filled in rather than rendered by Jinja and scanned for links.

`prepare(template, public)` gives a `Skeleton`, or None for a template it cannot take apart exactly (then the
send renders with `rendering.render` and scans with `compose.compose`, as before). Only the simplest template
is taken apart, one whose every tag is a placeholder: `{{ contact.first_name }}`, `{{ unsubscribe_url }}`,
optionally `|default("...")` (or `|d`) with a string. An `if`, any other filter, an expression: None. For those,
a filled-in part is what Jinja's sandbox renders (the same environment parses the source, so whitespace control
and raw blocks read the same; a value HTML-escaped in the HTML part, a missing one empty or its default).

Links: the tracked `<a href>` of the HTML are found once, in the HTML with a marker in each value's place.
A value cannot open a tag or end a quoted attribute (it is escaped: no `<`, `>`, quotes), so the links of
every message are the same as the skeleton's, unless a value stands inside an `<a ...>` tag or a link
(other than the whole href of the unsubscribe link, which is never tracked): then the links are found per
message (`dynamic`), as `compose.track_links` does. The open pixel's place is found the same way.
"""
from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass

from jinja2 import nodes
from jinja2.exceptions import TemplateError
from markupsafe import escape

from crm_marketing.domain import compose, mail_html, rendering

MARK = "\x00"  # a value's place in the skeleton HTML: MARK index MARK
VALUE = re.compile("\x00(\\d+)\x00")
PIECE = re.compile("\x00(\\d+)\x00|\x01(\\d+)\x01|\x02")
A_TAG = re.compile(r"<a[^>]*>?", re.IGNORECASE)
BODY_END_NEAR_VALUE = re.compile("</body\\s*\x00", re.IGNORECASE)


@dataclass(frozen=True)
class Slot:
    group: str | None  # contact, account, campaign; None: unsubscribe_url
    field: str
    default: str


class Part:
    """One part as pieces: literal strings, with the values' indices in `slots` (and for the HTML the links'
    and the pixel's) at known places of `pieces`."""

    def __init__(self, pieces: list, slots: list[tuple[int, Slot]], escaped: bool):
        self.pieces, self.slots, self.escaped = pieces, slots, escaped
        self.links: list[tuple[int, int]] = []  # (place in pieces, link index)
        self.pixel: int | None = None

    def fill(self, recipient: dict, out: list | None = None) -> list:
        out = list(self.pieces) if out is None else out
        for place, slot in self.slots:
            found = recipient.get(slot.field) if slot.group is None else recipient[slot.group].get(slot.field)
            value = slot.default if found is None else found
            out[place] = escape(value) if self.escaped else str(value)
        return out


def _slot(node) -> Slot | None:
    """The placeholder an output expression is, or None for anything else."""
    default = ""
    if isinstance(node, nodes.Filter):
        if (node.name not in ("default", "d") or node.kwargs or node.dyn_args or node.dyn_kwargs
                or len(node.args) > 1 or node.node is None):
            return None
        if node.args:
            if not isinstance(node.args[0], nodes.Const) or not isinstance(node.args[0].value, str):
                return None
            default = node.args[0].value
        node = node.node
    if isinstance(node, nodes.Name) and node.ctx == "load" and node.name == "unsubscribe_url":
        return Slot(None, "unsubscribe_url", default)
    if isinstance(node, nodes.Getattr):
        group, field = node.node, node.attr
    elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        group, field = node.node, node.arg.value
    else:
        return None
    if not isinstance(group, nodes.Name) or group.name not in rendering.FIELDS:
        return None
    if field not in rendering.FIELDS[group.name]:
        return None
    return Slot(group.name, field, default)


def _part(source: str, env, escaped: bool) -> Part | None:
    if any(c in source for c in "\x00\x01\x02"):
        return None
    try:
        tree = env.parse(source)
    except TemplateError:
        return None
    pieces, slots = [], []
    for output in tree.body:
        if not isinstance(output, nodes.Output):
            return None
        for node in output.nodes:
            if isinstance(node, nodes.TemplateData):
                pieces.append(node.data)
                continue
            slot = _slot(node)
            if slot is None:
                return None
            slots.append((len(pieces), slot))
            pieces.append("")
    return Part(pieces, slots, escaped)


@dataclass
class Skeleton:
    subject: Part
    html: Part
    text: Part
    links: list  # the tracked links' original URLs, by index
    dynamic: bool  # the links (and pixel) are found per message
    raw: list = None  # the tracked links' href values as the template has them, by index

    @property
    def raw_length(self) -> int:
        return sum(len(raw) for raw in self.raw)

    def plain(self, out: list) -> str:
        """A filled HTML (`out`) as rendered, before its links and pixel went in."""
        out = list(out)
        for place, index in self.html.links:
            out[place] = self.raw[index]
        out[self.html.pixel] = ""
        return "".join(out)


def prepare(template, public: str) -> Skeleton | None:
    """The template's skeleton for a send whose links start with `public`; None: render it with Jinja."""
    subject = _part(template.subject, rendering.TEXT_ENV, False)
    html = _part(template.html, rendering.HTML_ENV, True)
    text = _part(template.text or mail_html.text_of(template.html), rendering.TEXT_ENV, False)
    if subject is None or html is None or text is None:
        return None
    skeleton = Skeleton(subject, html, text, [], False, [])
    if not _place_links(skeleton, public):
        skeleton.dynamic = True
    return skeleton


def _place_links(skeleton: Skeleton, public: str) -> bool:
    """The HTML's tracked links and pixel placed in its pieces; False when a value could change them."""
    part = skeleton.html
    marked = list(part.pieces)
    for place, _slot in part.slots:
        marked[place] = f"{MARK}{place}{MARK}"
    source = "".join(marked)
    unsubscribe = {f"{MARK}{place}{MARK}" for place, slot in part.slots if slot.group is None}
    keep, allowed, swaps = f"{public}/u/", set(), []
    for match in compose.HREF.finditer(source):
        value = match.group(3)
        if MARK in match.group(1):
            return False
        if MARK in value:
            if value.strip() not in unsubscribe:
                return False
            allowed.add(match.start(3) + value.index(MARK))
            continue
        url = htmllib.unescape(value).strip()
        if not url.lower().startswith(compose.TRACKED) or url.startswith(keep):
            continue
        swaps.append((match.start(3), match.end(3), len(skeleton.links)))
        skeleton.links.append(url)
        skeleton.raw.append(value)
    covered = [(m.start(), m.end()) for m in A_TAG.finditer(source)]
    covered += [(m.start(), m.end()) for m in compose.HREF.finditer(source)]
    for value in VALUE.finditer(source):
        if value.start() not in allowed and any(start <= value.start() < end for start, end in covered):
            return False
    if BODY_END_NEAR_VALUE.search(source):
        return False
    found = None
    for found in compose.BODY_END.finditer(source):
        pass
    at = len(source) if found is None else found.start()
    edits = [(start, end, f"\x01{index}\x01") for start, end, index in swaps] + [(at, at, "\x02")]
    for start, end, replacement in sorted(edits, reverse=True):
        source = source[:start] + replacement + source[end:]
    pieces, slots, by_place = [], [], dict(part.slots)
    position = 0
    for piece in PIECE.finditer(source):
        pieces.append(source[position:piece.start()])
        position = piece.end()
        if piece.group(1) is not None:
            slots.append((len(pieces), by_place[int(piece.group(1))]))
        elif piece.group(2) is not None:
            part.links.append((len(pieces), int(piece.group(2))))
        else:
            part.pixel = len(pieces)
        pieces.append("")
    pieces.append(source[position:])
    part.pieces, part.slots = pieces, slots
    return True


def message(skeleton: Skeleton, recipient: dict, *, message_id: str, to: str, sender: compose.Sender, public: str,
            unsubscribe: str, unsubscribe_mailto: str | None, minter) -> compose.Composed:
    """The message for one recipient (`rendering.recipient_of`, with its `unsubscribe_url`), as
    `compose.compose(rendering.render(template, recipient), ...)` makes it."""
    subject = "".join(skeleton.subject.fill(recipient))
    text = "".join(skeleton.text.fill(recipient))
    out = skeleton.html.fill(recipient)
    if skeleton.dynamic:
        plain = "".join(out)
        _check(subject, plain, text)
        html, links = compose.track_links(plain, message_id, public, minter)
        html = compose.add_pixel(html, message_id, public, minter)
    else:
        plain = None
        for place, index in skeleton.html.links:
            out[place] = f"{public}/t/c/{minter.make('click', index)}"
        out[skeleton.html.pixel] = compose.pixel(public, minter)
        html, links = "".join(out), skeleton.links
        if max(len(subject), len(html) + skeleton.raw_length, len(text)) > rendering.MAX_OUTPUT:
            plain = skeleton.plain(out)  # the limit is the rendered part's, as rendering.render checks it
            _check(subject, plain, text)
    if not (text and text.strip()):
        text = compose.text_of(plain if plain is not None else skeleton.plain(out))
    return compose.mime(html, text, " ".join(subject.split()), links, message_id=message_id, to=to, sender=sender,
                        unsubscribe=unsubscribe, unsubscribe_mailto=unsubscribe_mailto)


def _check(subject: str, html: str, text: str) -> None:
    if max(len(subject), len(html), len(text)) > rendering.MAX_OUTPUT:
        raise rendering.RenderError(f"a rendered part is over {rendering.MAX_OUTPUT} characters")
