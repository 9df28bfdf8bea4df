"""/docs: Swagger UI from the gateway's own files under a strict CSP (issue 14)."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from crm_gateway.app import create_app
from crm_gateway.settings import Settings


class Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.inline_styles = 0
        self._in_script_without_src = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "style" in attrs or tag == "style":
            self.inline_styles += 1
        if any(name.startswith("on") for name in attrs):
            self.inline_scripts += 1
        if tag == "script":
            if attrs.get("src"):
                self.urls.append(attrs["src"])
            else:
                self._in_script_without_src = True
        if tag in ("link", "img") and (attrs.get("href") or attrs.get("src")):
            self.urls.append(attrs.get("href") or attrs.get("src"))

    def handle_data(self, data):
        if self._in_script_without_src and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script_without_src = False


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    db = tmp_path_factory.mktemp("docs") / "gateway.db"
    return create_app(Settings(database_url=f"sqlite:///{db}")).test_client()


def test_the_docs_page_loads_only_same_origin_assets_and_each_is_served(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assets = Assets()
    assets.feed(page.get_data(as_text=True))
    assert assets.inline_scripts == 0 and assets.inline_styles == 0
    assert len(assets.urls) >= 3
    for url in assets.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        served = client.get(url)
        assert served.status_code == 200, url
        assert len(served.data) > 0
    types = {client.get(url).mimetype for url in assets.urls}
    assert {"text/css", "text/javascript"} <= types
    assert "cdn" not in page.get_data(as_text=True).lower()


def test_the_docs_page_has_a_strict_content_security_policy(client):
    csp = client.get("/docs").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert not re.search(r"unsafe-(inline|eval)|https?:|\*", csp)


def test_the_start_script_renders_the_gateways_own_openapi_document(client):
    script = client.get("/static/docs.js").get_data(as_text=True)
    assert 'url: "/openapi.json"' in script and "validatorUrl: null" in script
    assert client.get("/openapi.json").status_code == 200
