"""The rich-text cleaner: the documented tags and attributes stay, scripts, handlers and unsafe links go."""
from __future__ import annotations

from crm_common import richtext


def test_scripts_event_handlers_and_javascript_links_are_removed():
    dirty = ('<p onclick="steal()">Hi <b>there</b><script>alert(1)</script></p>'
             '<img src=x onerror="alert(2)"><a href="javascript:alert(3)">click</a>'
             '<a href="https://example.com/help" target="_blank" style="color:red">help</a>'
             '<iframe src="https://evil.example"></iframe><!-- note --><style>p{}</style>')
    assert richtext.clean(dirty) == (
        '<p>Hi <b>there</b></p><a rel="noopener noreferrer">click</a>'
        '<a href="https://example.com/help" rel="noopener noreferrer">help</a>')


def test_the_documented_set_stays():
    kept = ('<h2>Steps</h2><ol start="2"><li><em>Open</em> <code>settings</code></li></ol><blockquote>quote</blockquote>'
            '<table><thead><tr><th scope="col">a</th></tr></thead><tbody><tr><td colspan="2">b</td></tr></tbody></table>'
            '<pre>x</pre><br><a href="mailto:help@example.com" title="mail" rel="noopener noreferrer">mail us</a>')
    assert richtext.clean(kept) == kept


def test_data_and_vbscript_links_lose_their_href_and_text_is_escaped():
    assert richtext.clean('<a href="data:text/html,<script>alert(1)</script>">x</a>') == \
        '<a rel="noopener noreferrer">x</a>'
    assert richtext.clean('<a href=" JaVaScRiPt:alert(1)">x</a>') == '<a rel="noopener noreferrer">x</a>'
    assert richtext.clean("1 < 2 & 3 > 2") == "1 &lt; 2 &amp; 3 &gt; 2"
    assert richtext.clean(None) is None
    assert richtext.clean_fields({"body": "<script>x</script>ok", "title": "<b>"}, "body", "absent") == \
        {"body": "ok", "title": "<b>"}


def test_cleaning_twice_changes_nothing():
    once = richtext.clean('<p onclick="x">a <a href="https://e.example">b</a> &amp; c</p>')
    assert richtext.clean(once) == once
