"""The customer portal without the suite: its pages need sign-in, and a customer's home is the portal."""
from __future__ import annotations

import pytest

from crm_console import sessions
from crm_console.app import create_app


@pytest.fixture()
def app(tmp_path):
    return create_app({"SESSION_STORE": sessions.SqliteStore(tmp_path / "s.sqlite3"),
                       "CRM_API_URL": "http://127.0.0.1:9"})  # nothing listens there


@pytest.mark.parametrize("path", ["/portal/", "/portal/tickets/new", "/portal/kb/"])
def test_portal_pages_need_sign_in(app, path):
    assert app.test_client().get(path).headers["Location"].startswith(f"/login?next={path}")


def test_a_customers_home_is_the_portal_with_its_own_menu(app):
    client = app.test_client()
    with client.session_transaction() as session:
        session["tokens"] = {"access_token": "x.e30.y", "refresh_token": "r"}
        session["me"] = {"id": "c1", "email": "c@example.com", "roles": ["customer"]}
    assert client.get("/").headers["Location"] == "/portal/"
    page = client.get("/portal/tickets/new").get_data(as_text=True)
    assert "My requests" in page and "Help articles" in page and "/leads/" not in page


def test_a_ticket_id_that_is_not_an_id_is_not_found(app):
    client = app.test_client()
    with client.session_transaction() as session:
        session["tokens"] = {"access_token": "x.e30.y", "refresh_token": "r"}
        session["me"] = {"id": "c1", "roles": ["customer"]}
    assert client.get("/portal/tickets/../../admin").status_code == 404
    assert client.get("/portal/tickets/not-an-id").status_code == 404
