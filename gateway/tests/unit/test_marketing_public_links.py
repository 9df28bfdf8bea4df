"""The marketing service's public links in-process (the service replaced by a recorder, no broker): the
pixel is always a GIF, a click redirects only to the link the service names, a GET of the unsubscribe
link changes nothing, forms answer JSON or a browser, reports come raw, and the public routes are limited."""
from __future__ import annotations

import time
import uuid

import jwt
import pytest

from crm_common.errors import ServiceError
from crm_common.permissions import BUILTIN_ROLES
from crm_gateway.app import create_app
from crm_gateway.settings import JWT_AUDIENCE, JWT_ISSUER

FORM_ID = "0b6f3c1e-6f0e-4d8e-9a55-6a3c51c1f0a1"
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"}


class Marketing:
    """Stands in for the RPC pool: records every call, answers like the marketing service would."""

    LINKS = {"good": "https://engines.example/spring?utm=mail", "evil": "javascript:alert(1)"}

    def __init__(self):
        self.calls = []
        self.pending = False  # confirm_consent answers as to a link scanner: nothing confirmed

    def call(self, service, method, *args, **kwargs):
        self.calls.append((method, args, kwargs))
        payload = args[0] if args else {}
        if method == "token_cutoff":
            return {"active": True, "valid_after": None}
        if method == "track":
            if payload["token"] not in self.LINKS and payload["token"] != "open":
                raise ServiceError("not_found", "no such link")
            return {"url": self.LINKS.get(payload["token"]) if payload["kind"] == "click" else None, "machine": False}
        if method in ("preview_unsubscribe", "unsubscribe") and payload["token"] == "topic":
            everything = payload.get("scope") == "all"
            return {"address": "a***@engines.example", "topic": "product_updates",
                    "unsubscribed": method == "unsubscribe", "unsubscribed_all": everything}
        if method in ("preview_unsubscribe", "unsubscribe", "confirm_consent"):
            if payload["token"] != "good":
                raise ServiceError("not_found", "no such link")
            return {"address": "a***@engines.example", "unsubscribed": method == "unsubscribe",
                    "status": "pending" if self.pending else "opted_in", "confirmed_at": None, "already": False}
        if method == "submit_form":
            email = payload["answers"].get("email", "")
            if not isinstance(email, str) or "@" not in email:
                raise ServiceError("validation_failed", "the form has invalid fields",
                                   errors={"email": ["not an e-mail address: <script>"]})
            return {"submission_id": "s-1", "redirect_url": payload["answers"].get("then")}
        if method == "receive_report":
            return {"report_type": "delivery-status", "outcome": "hard_bounce", "recipient": "ada@engines.example",
                    "status": "5.1.1", "message_id": None, "campaign_id": None, "suppressed": True}
        raise AssertionError(f"unexpected call {method}")

    def methods(self):
        return [m for m, _, _ in self.calls if m != "token_cutoff"]


@pytest.fixture
def make_app(settings_of):
    def make(**overrides):
        app = create_app(settings_of(redis_url=None, **overrides))
        app.extensions["crm_rpc"] = app.extensions["crm_rpc_probe"] = Marketing()
        return app
    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


def service(app) -> Marketing:
    return app.extensions["crm_rpc"]


def bearer(keypair, role: str) -> dict:
    now = int(time.time())
    claims = {"iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "sub": str(uuid.uuid4()), "iat": now, "exp": now + 600,
              "jti": str(uuid.uuid4()), "typ": "access", "roles": [role], "perms": BUILTIN_ROLES[role]}
    return {"Authorization": f"Bearer {jwt.encode(claims, keypair[0], algorithm='EdDSA')}"}


def is_page(response, status: int):
    assert response.status_code == status, response.data
    assert response.mimetype == "text/html" and "no-store" in response.headers["Cache-Control"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    return response.get_data(as_text=True)


def test_the_pixel_is_a_gif_never_cached_whatever_the_token(app, client):
    for token in ("open", "forged-token"):
        response = client.get(f"/t/o/{token}", headers=BROWSER)
        assert response.status_code == 200 and response.mimetype == "image/gif"
        assert response.data.startswith(b"GIF89a") and len(response.data) < 100
        assert "no-store" in response.headers["Cache-Control"]
    assert [c[1][0]["kind"] for c in service(app).calls] == ["open", "open"]
    assert service(app).calls[0][1][0]["user_agent"] == BROWSER["User-Agent"]
    assert service(app).calls[0][2]["client_ip"] == "127.0.0.1"
    assert client.head("/t/o/open").status_code == 200 and service(app).calls[-1][1][0]["head"] is True


def test_a_click_redirects_only_to_the_link_the_service_names(app, client):
    response = client.get("/t/c/good", headers=BROWSER)
    assert response.status_code == 302 and response.headers["Location"] == Marketing.LINKS["good"]
    assert "no-store" in response.headers["Cache-Control"]
    for token in ("forged", "evil", "x" * 80):
        page = is_page(client.get(f"/t/c/{token}", headers=BROWSER), 404)
        assert "Location" not in client.get(f"/t/c/{token}").headers and "javascript" not in page
    assert client.get("/t/c/good?url=https://attacker.example/").headers["Location"] == Marketing.LINKS["good"]


def test_the_unsubscribe_page_changes_nothing_and_only_the_one_click_post_acts(app, client):
    page = is_page(client.get("/u/good", headers=BROWSER), 200)
    assert 'method="post"' in page and "a***@engines.example" in page
    assert service(app).methods() == ["preview_unsubscribe"]
    done = client.post("/u/good", data={"List-Unsubscribe": "One-Click"})  # RFC 8058, form-encoded
    assert "unsubscribed" in is_page(done, 200) and service(app).methods()[-1] == "unsubscribe"
    multipart = client.post("/u/good", data={"List-Unsubscribe": "One-Click"}, content_type="multipart/form-data")
    assert multipart.status_code == 200
    is_page(client.post("/u/forged", data={"List-Unsubscribe": "One-Click"}), 404)
    is_page(client.get("/u/forged"), 404)


def test_a_topic_campaigns_page_leaves_the_topic_and_offers_all_mail_apart(app, client):
    page = is_page(client.get("/u/topic", headers=BROWSER), 200)
    assert "Stop product updates mail" in page and page.count('method="post"') == 2
    one_click = client.post("/u/topic", data={"List-Unsubscribe": "One-Click"})  # what a mail client sends
    assert "no more product updates mail" in is_page(one_click, 200)
    assert "Unsubscribe from all marketing mail" in one_click.get_data(as_text=True)
    assert "scope" not in service(app).calls[-1][1][0]  # the service's default: the topic only
    everything = client.post("/u/topic", data={"List-Unsubscribe": "One-Click", "scope": "all"})
    assert "no more marketing mail" in is_page(everything, 200)
    assert service(app).calls[-1][1][0]["scope"] == "all"


def test_the_confirmation_link_answers_a_page_and_its_button_posts(app, client):
    assert "confirmed" in is_page(client.get("/c/good", headers=BROWSER), 200)
    assert service(app).calls[-1][1][0] == {"token": "good", "user_agent": BROWSER["User-Agent"]}
    is_page(client.get("/c/forged"), 404)
    assert "confirmed" in is_page(client.post("/c/good", data={}), 200)
    assert service(app).calls[-1][1][0]["pressed"] is True
    service(app).pending = True
    scanned = is_page(client.get("/c/good", headers={"User-Agent": "Mimecast"}), 200)
    assert 'method="post"' in scanned and "Confirm" in scanned


def test_a_json_submission_is_a_201_and_bad_answers_a_422_problem(app, client):
    ok = client.post(f"/f/{FORM_ID}", json={"email": "ada@engines.example"})
    assert ok.status_code == 201 and ok.get_json()["submission_id"] == "s-1"
    method, (payload,), options = service(app).calls[-1]
    assert (method, options["id"], options["client_ip"], payload["answers"]) == (
        "submit_form", FORM_ID, "127.0.0.1", {"email": "ada@engines.example"})
    bad = client.post(f"/f/{FORM_ID}", json={"email": "nope"})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json" and "email" in bad.get_json()["errors"]
    for body in ([1, 2], "text"):
        assert client.post(f"/f/{FORM_ID}", json=body).status_code == 422
    assert client.post(f"/f/{FORM_ID}", json={"x": "a\u0000b"}).status_code == 422
    assert client.post("/f/not-a-form-id", json={}).status_code == 404
    empty = client.post(f"/f/{FORM_ID}")
    assert empty.status_code == 422 and empty.mimetype == "application/problem+json"
    assert client.post(f"/f/{FORM_ID}", data=b"<x/>", content_type="application/xml").status_code == 415


def test_a_browser_form_post_is_redirected_or_shown_its_errors_escaped(app, client):
    moved = client.post(f"/f/{FORM_ID}", data={"email": "ada@engines.example", "then": "https://engines.example/thanks"})
    assert moved.status_code == 303 and moved.headers["Location"] == "https://engines.example/thanks"
    assert "Thank you" in is_page(client.post(f"/f/{FORM_ID}", data={"email": "ada@engines.example"}), 201)
    errors = is_page(client.post(f"/f/{FORM_ID}", data={"email": "nope"}), 422)
    assert "<b>email</b>" in errors and "&lt;script&gt;" in errors and "<script>" not in errors
    two = client.post(f"/f/{FORM_ID}", data={"email": ["a@engines.example", "b@engines.example"]})
    assert service(app).calls[-1][1][0]["answers"]["email"] == ["a@engines.example", "b@engines.example"]
    assert two.status_code == 422  # the service's rule (one value per field), shown as a page


def test_form_posts_are_limited_per_address_apart_from_other_routes(make_app):
    app = make_app(rate_limit_forms="2/minute")
    first = app.test_client()
    first.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    for _ in range(2):
        assert first.post(f"/f/{FORM_ID}", json={"email": "ada@engines.example"}).status_code == 201
    calls = len(service(app).calls)
    limited = first.post(f"/f/{FORM_ID}", json={"email": "ada@engines.example"})
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 61
    assert len(service(app).calls) == calls  # refused before the service was asked
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.8"
    assert other.post(f"/f/{FORM_ID}", json={"email": "ada@engines.example"}).status_code == 201
    assert first.get("/t/o/open").status_code == 200  # the pixel has a limit of its own


def test_the_pixel_is_limited_apart_from_the_anonymous_limit(make_app):
    app = make_app(rate_limit_anonymous="1/minute", rate_limit_tracking="3/minute")
    client = app.test_client()
    assert [client.get("/t/o/open").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_a_report_is_posted_raw_or_as_json_by_a_caller_with_consent_create(app, client, keypair):
    raw = "Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x--\n"
    assert client.post("/api/v1/inbound/bounces", data=raw, content_type="message/rfc822").status_code == 401
    refused = client.post("/api/v1/inbound/bounces", data=raw, content_type="message/rfc822",
                          headers=bearer(keypair, "analyst"))
    assert refused.status_code == 403 and "receive_report" not in service(app).methods()
    ok = client.post("/api/v1/inbound/bounces", data=raw, content_type="message/rfc822",
                     headers=bearer(keypair, "marketer"))
    assert ok.status_code == 200 and ok.get_json()["outcome"] == "hard_bounce"
    assert service(app).calls[-1][1][0] == {"raw": raw}
    as_json = client.post("/api/v1/inbound/bounces", json={"raw": raw}, headers=bearer(keypair, "marketer"))
    assert as_json.status_code == 200 and service(app).calls[-1][1][0] == {"raw": raw}
    bad = client.post("/api/v1/inbound/bounces", json={"raw": raw, "colour": 1}, headers=bearer(keypair, "marketer"))
    assert bad.status_code == 422 and "colour" in bad.get_json()["errors"]
    assert client.post("/api/v1/inbound/bounces", data=b"{}", content_type="application/xml",
                       headers=bearer(keypair, "marketer")).status_code == 415


def test_a_service_away_is_a_try_again_page_and_the_pixel_still_a_gif(app, client):
    def away(service, method, *args, **kwargs):
        raise ServiceError("unavailable", "marketing did not answer")
    service(app).call = away
    for path in ("/t/c/good", "/u/good", "/c/good"):
        assert "try again" in is_page(client.get(path), 503)
    assert client.get("/t/o/good").mimetype == "image/gif"
