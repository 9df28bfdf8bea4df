"""The console without the suite: sessions, CSRF, headers, languages, catalogues, one-origin routing."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask

from crm_console import api, sessions
from crm_console.app import create_app
from crm_console.views.common import field_errors
from crm_console.wsgi import OneOrigin

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "crm_console"


@pytest.fixture()
def app(tmp_path):
    return create_app({"SESSION_STORE": sessions.SqliteStore(tmp_path / "s.sqlite3"),
                       "CRM_API_URL": "http://127.0.0.1:9"})  # nothing listens there


def _csrf(client, path="/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_a_page_needs_sign_in_and_the_login_page_is_locked_down(app):
    client = app.test_client()
    assert client.get("/leads/").headers["Location"].startswith("/login?next=/leads/")
    page = client.get("/login")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "<script>" not in page.get_data(as_text=True)  # no inline script anywhere


def test_a_form_without_its_csrf_token_changes_nothing(app):
    client = app.test_client()
    client.get("/login")
    refused = client.post("/login", data={"email": "a@example.com", "password": "x"})
    assert refused.status_code == 400 and "expired" in refused.get_data(as_text=True)
    refused = client.post("/language", data={"lang": "zh", "csrf_token": "forged"})
    assert refused.status_code == 400
    assert "Sign in" in client.get("/login").get_data(as_text=True)


def test_a_gateway_that_is_down_is_named_and_the_page_kept(app):
    client = app.test_client()
    answer = client.post("/login", data={"email": "a@example.com", "password": "x", "csrf_token": _csrf(client)})
    assert answer.status_code == 503
    assert "Part of the CRM is not answering" in answer.get_data(as_text=True)
    assert 'name="password"' in answer.get_data(as_text=True)


def test_the_language_follows_the_browser_then_the_users_choice(app):
    client = app.test_client()
    assert "登录" in client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert ">Sign in<" in client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    client.post("/language", data={"lang": "zh", "csrf_token": _csrf(client), "next": "/login"})
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "登录" in page and 'lang="zh-CN"' in page


def test_every_message_has_its_chinese_translation_and_the_compiled_catalogue_is_current():
    directory = PACKAGE / "translations" / "zh" / "LC_MESSAGES"
    po = read_po((directory / "messages.po").open("rb"))
    mo = read_mo((directory / "messages.mo").open("rb"))
    assert all(all(m.string) if isinstance(m.string, tuple) else m.string for m in po if m.id), \
        "untranslated messages (a plural counts each of its forms)"
    def same(value):  # a plural's forms come back as a list from the .mo, a tuple from the .po
        return value if isinstance(value, str) else tuple(value)
    assert {same(m.id): same(m.string) for m in po if m.id} == {same(m.id): same(m.string) for m in mo if m.id}, \
        "messages.mo is stale: run pybabel compile -d console/src/crm_console/translations"


def test_problem_errors_become_messages_beside_the_fields():
    exc = api.ApiError(422, {"errors": {"email": ["is not an email"], "create_opportunity": {"amount": ["bad"]}}})
    assert field_errors(exc) == {"email": ["is not an email"], "create_opportunity.amount": ["bad"]}


def test_one_origin_sends_api_routes_to_the_gateway_and_the_rest_to_the_console():
    gateway = Flask("gw", root_path=".")
    gateway.add_url_rule("/healthz", "h", lambda: "gw")
    gateway.add_url_rule("/api/v1/leads", "l", lambda: "gw")
    console = Flask("console_app", root_path=".")
    both = OneOrigin(gateway, console)
    assert both.owner("/api/v1/leads", "GET") is gateway
    assert both.owner("/api/v1/unknown", "GET") is gateway  # the API's own 404 (problem+json)
    assert both.owner("/healthz", "GET") is gateway
    assert both.owner("/healthz", "POST") is gateway
    assert both.owner("/", "GET") is console
    assert both.owner("/leads/", "GET") is console
    assert both.owner("/console-static/htmx.min.js", "GET") is console


def test_user_strings_are_escaped(app):
    with app.test_request_context("/"):
        from flask import render_template
        html = render_template("error.html", status=400, message="<script>alert(1)</script>")
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html


def test_the_sla_badge_says_breached_overdue_soon_or_the_hours_left():
    from datetime import datetime, timedelta, timezone

    from crm_console.views.tickets import sla

    def at(minutes):
        return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
    assert sla({"sla_breached": True})["kind"] == "breached"
    assert sla({"first_response_due_at": at(-5)})["kind"] == "overdue"
    assert sla({"first_response_due_at": at(30)})["kind"] == "soon"
    assert sla({"first_response_due_at": at(600)})["kind"] == "ok"
    # answered: the resolution due time counts next; solved: nothing is due
    assert sla({"first_response_due_at": at(-5), "first_responded_at": at(-10), "resolution_due_at": at(90)})[
        "kind"] == "ok"
    assert sla({"resolution_due_at": at(-5), "solved_at": at(-10)})["kind"] == "none"


def test_the_menus_unread_badge_never_brings_back_a_session_signed_out_meanwhile(app, monkeypatch):
    """The badge is fetched after each page; a sign-out (or a language switch) made while it is on its way stays."""
    store = app.session_interface.store
    store.put("sid-1", {"tokens": {"access_token": "a", "refresh_token": "r"}, "me": {"id": "u1", "perms": {}}}, 60)

    def answer_while_the_user_signs_out(method, path, **kwargs):
        store.put("sid-1", {"lang": "zh"}, 60)  # the sign-out, done by another request meanwhile
        return {"items": [], "unread_count": 3}
    monkeypatch.setattr(api, "call", answer_while_the_user_signs_out)
    client = app.test_client()
    client.set_cookie(sessions.COOKIE, "sid-1")
    badge = client.get("/notifications/unread")
    assert badge.status_code == 200 and "3 unread" in badge.get_data(as_text=True)
    assert store.get("sid-1") == {"lang": "zh"}  # still signed out, the language kept
