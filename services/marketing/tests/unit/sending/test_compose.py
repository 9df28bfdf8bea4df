"""A campaign message as it goes over SMTP: tracked links, pixel, unsubscribe headers, a text part."""
from __future__ import annotations

import email
import email.policy
import uuid

from crm_marketing.domain import compose, tokens
from crm_marketing.domain.rendering import Rendered

PUBLIC = "https://crm.example.com"
HTML = ('<html><body><p>Hello Ada</p><a href="https://shop.example.com/p?a=1&amp;b=2">Shop</a>'
        '<a href="mailto:sales@example.com">Mail us</a><a href="#top">Top</a><a href="tel:+123">Call</a>'
        "<a class='x' href='http://example.org/two'>Two</a><a href=\"https://shop.example.com/p?a=1&amp;b=2\">Again</a>"
        '\n.a line starting with a dot</body></html>')


def message(html=HTML, text=None, subject="Spring offer", test=False, **kwargs):
    mid = str(uuid.uuid4())
    composed = compose.compose(Rendered(subject, html, text), message_id=mid, to="ada@example.com",
                               sender=compose.Sender("news@example.com", "Acme News", "reply@example.com"),
                               test=test, public=PUBLIC, **kwargs)
    return mid, composed, email.message_from_bytes(composed.data, policy=email.policy.default)


def test_headers_of_rfc_8058_and_the_message_id():
    mid, composed, parsed = message(unsubscribe_mailto="unsubscribe@example.com")
    token = tokens.make("unsubscribe", mid)
    assert parsed["List-Unsubscribe"] == f"<{PUBLIC}/u/{token}>, <mailto:unsubscribe@example.com?subject=unsubscribe>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Message-ID"] == f"<{mid}@example.com>" == composed.message_id
    assert parsed["From"] == "Acme News <news@example.com>" and parsed["To"] == "ada@example.com"
    assert parsed["Reply-To"] == "reply@example.com" and parsed["Subject"] == "Spring offer"
    assert parsed.get_content_type() == "multipart/alternative"
    assert tokens.read("unsubscribe", token) == (mid, None)


def test_without_a_mailto_only_the_one_click_link():
    mid, _, parsed = message(unsubscribe_mailto="")
    assert parsed["List-Unsubscribe"] == f"<{PUBLIC}/u/{tokens.make('unsubscribe', mid)}>"


def test_http_links_rewritten_in_order_mailto_anchors_and_tel_left_alone():
    mid, composed, parsed = message()
    html = parsed.get_body(("html",)).get_content()
    assert composed.links == ["https://shop.example.com/p?a=1&b=2", "http://example.org/two",
                              "https://shop.example.com/p?a=1&b=2"]
    for index in range(3):
        assert f'{PUBLIC}/t/c/{tokens.make("click", mid, index)}' in html
    assert 'href="mailto:sales@example.com"' in html and 'href="#top"' in html and 'href="tel:+123"' in html
    assert "shop.example.com" not in html and "example.org" not in html  # no original http link left
    assert tokens.read("click", html.split("/t/c/")[1].split('"')[0]) == (mid, 0)


def test_open_pixel_before_the_end_of_the_body():
    mid, _, parsed = message()
    html = parsed.get_body(("html",)).get_content()
    pixel = f'{PUBLIC}/t/o/{tokens.make("open", mid)}'
    assert pixel in html and html.index(pixel) < html.index("</body>")
    _, _, bare = message(html="<p>no body tag</p>")
    assert bare.get_body(("html",)).get_content().rstrip().endswith('1px">')


def test_the_unsubscribe_link_in_the_html_is_not_tracked_as_a_click():
    mid = str(uuid.uuid4())
    url = compose.unsubscribe_url(mid, PUBLIC)
    composed = compose.compose(Rendered("s", f'<a href="{url}">Unsubscribe</a>', None), message_id=mid,
                               to="ada@example.com", sender=compose.Sender("news@example.com"), public=PUBLIC)
    assert composed.links == [] and url.encode() in composed.data.replace(b"=\r\n", b"")


def test_text_part_from_the_template_or_the_html_with_the_unsubscribe_link():
    mid, _, parsed = message(text="Hello Ada, see https://shop.example.com")
    text = parsed.get_body(("plain",)).get_content()
    assert text.startswith("Hello Ada, see https://shop.example.com")
    assert f"Unsubscribe: {PUBLIC}/u/{tokens.make('unsubscribe', mid)}" in text
    _, _, derived = message()
    assert "Hello Ada" in derived.get_body(("plain",)).get_content()
    assert "<p>" not in derived.get_body(("plain",)).get_content()


def test_test_messages_say_so_and_non_ascii_survives():
    _, _, parsed = message(subject="Grüße für Zoë", test=True, html="<p>Ça marche — ✓</p>")
    assert parsed["Subject"] == "[Test] Grüße für Zoë"
    assert "Ça marche — ✓" in parsed.get_body(("html",)).get_content()


def test_no_header_injection_through_the_subject():
    _, _, parsed = message(subject="Hi\r\nBcc: victim@example.com")
    assert parsed["Bcc"] is None and parsed["Subject"] == "Hi Bcc: victim@example.com"


def test_crlf_lines_only():
    _, composed, _ = message()
    assert b"\n" not in composed.data.replace(b"\r\n", b"")
