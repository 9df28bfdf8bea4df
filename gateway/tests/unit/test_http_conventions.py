"""The gateway's HTTP conventions, through the Flask app with no broker: problems, auth, headers."""
from __future__ import annotations

import time
import uuid

import jwt
import pytest
from flask.views import MethodView
from marshmallow import Schema, fields

from crm_gateway.app import create_app
from crm_gateway.auth import requires
from crm_gateway.conventions import TEXT_ERROR, Blueprint, ListArgs
from crm_gateway.settings import JWT_AUDIENCE, JWT_ISSUER


class ThingIn(Schema):
    name = fields.String(required=True)
    size = fields.Integer()


class ThingArgs(ListArgs):
    SORTABLE = ("created_at", "name")
    colour = fields.String()


@pytest.fixture(scope="module")
def app(settings_of):
    application = create_app(settings_of(cors_origins=("https://app.example.com",)))
    blp = Blueprint("things", __name__, url_prefix="/api/v1/things")

    @blp.route("")
    class Things(MethodView):
        @blp.arguments(ThingArgs, location="query")
        @requires("lead", "read")
        def get(self, args):
            return {"items": [], "next_cursor": None, "args": {k: v for k, v in args.items() if v is not None}}

        @blp.arguments(ThingIn)
        @requires("lead", "create")
        def post(self, body):
            return body, 201

    application.extensions["crm_api"].register_blueprint(blp)

    class EveryoneActive:  # stands in for identity's answer: no token of these tests was revoked
        def get(self, user_id, fetch):
            return {"active": True, "valid_after": None}

    application.extensions["crm_cutoffs"] = EveryoneActive()
    return application


@pytest.fixture
def client(app):
    return app.test_client()


def token(keypair, **overrides):
    now = int(time.time())
    claims = {"iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "sub": str(uuid.uuid4()), "iat": now, "exp": now + 600,
              "jti": str(uuid.uuid4()), "typ": "access", "roles": ["sales_rep"],
              "perms": {"lead": {"read": "own", "create": "own"}}}
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, keypair[0], algorithm="EdDSA")


def auth(keypair, **overrides):
    return {"Authorization": f"Bearer {token(keypair, **overrides)}"}


def assert_problem(response, status):
    assert response.status_code == status, response.data
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"] and body["type"].startswith("urn:crm:problem:")
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def test_unknown_route_is_a_404_problem(client):
    assert_problem(client.get("/api/v1/nothing-here"), 404)


def test_wrong_method_is_a_405_problem(client):
    assert_problem(client.delete("/healthz"), 405)


def test_no_credentials_is_401_and_the_same_for_a_bad_token(client, keypair):
    first = assert_problem(client.get("/api/v1/things"), 401)
    second = assert_problem(client.get("/api/v1/things", headers={"Authorization": "Bearer nonsense"}), 401)
    third = assert_problem(client.get("/api/v1/things", headers=auth(keypair, exp=int(time.time()) - 5)), 401)
    for body in (first, second, third):
        body.pop("request_id")
    assert first == second == third


def test_token_of_another_audience_or_without_expiry_is_refused(client, keypair):
    assert_problem(client.get("/api/v1/things", headers=auth(keypair, aud="somebody-else")), 401)
    assert_problem(client.get("/api/v1/things", headers=auth(keypair, exp=None)), 401)
    assert_problem(client.get("/api/v1/things", headers=auth(keypair, typ="refresh")), 401)


def test_a_role_without_the_permission_gets_403(client, keypair):
    headers = auth(keypair, perms={"ticket": {"read": "all"}})
    assert_problem(client.get("/api/v1/things", headers=headers), 403)


def test_malformed_json_is_400(client, keypair):
    response = client.post("/api/v1/things", data="{not json", content_type="application/json",
                           headers=auth(keypair))
    assert_problem(response, 400)


def test_over_long_url_is_a_414_problem(client):
    assert_problem(client.get("/api/v1/things?q=" + "x" * 5000), 414)


def test_text_that_is_not_unicode_is_a_422_naming_the_field(client, keypair):
    response = client.post("/api/v1/things", data='{"name": "bad \\ud800 text"}', content_type="application/json",
                           headers=auth(keypair))
    assert_problem(response, 422)
    assert response.get_json()["errors"] == {"json": {"name": [TEXT_ERROR]}}


def test_text_without_escapes_is_taken_as_it_reads_and_a_surrogate_as_utf8_bytes_is_malformed(client, keypair):
    """Only a \\u escape can write a NUL or a lone surrogate in a body webargs reads (strict UTF-8, no control
    characters in a JSON string): text without one is not walked (conventions.plain_json_text)."""
    raw = client.post("/api/v1/things", data=b'{"name": "bad \xed\xa0\x80 text"}', content_type="application/json",
                      headers=auth(keypair))
    assert_problem(raw, 400)
    nul = client.post("/api/v1/things", data=b'{"name": "a\x00b"}', content_type="application/json",
                      headers=auth(keypair))
    assert_problem(nul, 400)
    hangul = client.post("/api/v1/things", data='{"name": "\ud55c"}'.encode(), content_type="application/json",
                         headers=auth(keypair))
    assert hangul.status_code == 201 and hangul.get_json() == {"name": "\ud55c"}


def test_nul_characters_in_body_or_query_are_a_422_naming_the_field(client, keypair):
    body = client.post("/api/v1/things", json={"name": "a\x00b"}, headers=auth(keypair))
    assert_problem(body, 422)
    assert body.get_json()["errors"] == {"json": {"name": [TEXT_ERROR]}}
    query = client.get("/api/v1/things?colour=re%00d", headers=auth(keypair))
    assert_problem(query, 422)
    assert query.get_json()["errors"] == {"query": {"colour": [TEXT_ERROR]}}


def test_wrong_media_type_is_415(client, keypair):
    response = client.post("/api/v1/things", data="name=x", content_type="application/x-www-form-urlencoded",
                           headers=auth(keypair))
    assert_problem(response, 415)


def test_body_over_10_mb_is_413(client, keypair):
    response = client.post("/api/v1/things", data=b"x" * (10 * 1024 * 1024 + 10), content_type="application/json",
                           headers=auth(keypair))
    assert_problem(response, 413)


def test_invalid_fields_are_422_with_field_errors(client, keypair):
    response = client.post("/api/v1/things", json={"size": "big", "owner_id": "me"}, headers=auth(keypair))
    body = assert_problem(response, 422)
    assert set(body["errors"]) == {"name", "size", "owner_id"}


def test_unknown_filter_and_bad_limit_and_sort_are_422(client, keypair):
    body = assert_problem(client.get("/api/v1/things?flavour=x", headers=auth(keypair)), 422)
    assert "flavour" in body["errors"]
    body = assert_problem(client.get("/api/v1/things?limit=500", headers=auth(keypair)), 422)
    assert "limit" in body["errors"]
    body = assert_problem(client.get("/api/v1/things?sort=-password", headers=auth(keypair)), 422)
    assert "sort" in body["errors"]
    ok = client.get("/api/v1/things?colour=red&sort=name&limit=5", headers=auth(keypair))
    assert ok.status_code == 200 and ok.get_json()["args"]["colour"] == "red"


def test_request_id_is_echoed_when_sane_and_replaced_otherwise(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-12345678"}).headers["X-Request-ID"] == "abc-12345678"
    replaced = client.get("/healthz", headers={"X-Request-ID": "<script>"}).headers["X-Request-ID"]
    assert replaced != "<script>" and uuid.UUID(replaced)


def test_security_headers_and_cors_for_configured_origins_only(client):
    response = client.get("/healthz", headers={"Origin": "https://app.example.com"})
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    other = client.get("/healthz", headers={"Origin": "https://evil.example.net"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = client.options("/api/v1/things", headers={"Origin": "https://app.example.com",
                                                          "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204 and "POST" in preflight.headers["Access-Control-Allow-Methods"]


def test_each_security_header_is_sent_once_and_a_views_own_value_is_kept(app, client):
    from flask import Response

    from crm_gateway.app import _finish
    names = ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Strict-Transport-Security",
             "Content-Security-Policy")
    api = client.get("/api/v1/nothing-here")
    plain = client.get("/healthz")
    for response, cached in ((api, True), (plain, False)):
        assert all(len(response.headers.getlist(name)) == 1 for name in names)
        assert response.headers.getlist("Cache-Control") == (["no-store"] if cached else [])
    with app.test_request_context("/api/v1/leads"):
        own = _finish(Response("{}", headers={"cache-control": "private", "X-FRAME-OPTIONS": "SAMEORIGIN"}))
    assert own.headers.getlist("Cache-Control") == ["private"] and own.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert own.headers["Referrer-Policy"] == "no-referrer" and own.headers["X-Request-ID"]


def test_readyz_names_the_services_when_the_broker_is_away(client):
    body = assert_problem(client.get("/readyz"), 503)
    assert sorted(body["missing"]) == sorted(["identity", "sales", "service_desk", "marketing", "analytics", "automation", "integration"])


def test_openapi_document_and_docs_page_are_public(client):
    spec = client.get("/openapi.json")
    assert spec.status_code == 200 and spec.get_json()["openapi"].startswith("3.")
    assert "/api/v1/things" in spec.get_json()["paths"]
    assert client.get("/docs").status_code == 200


def test_a_verified_token_is_remembered_until_it_expires_and_revocation_still_applies(app, client, keypair):
    now = int(time.time())
    headers = auth(keypair, exp=now + 2)
    assert client.get("/api/v1/things", headers=headers).status_code == 200
    assert client.get("/api/v1/things", headers=headers).status_code == 200  # from the cache
    cutoffs = app.extensions["crm_cutoffs"]

    class Revoked:
        def get(self, user_id, fetch):
            return {"active": False, "valid_after": None}

    app.extensions["crm_cutoffs"] = Revoked()
    try:  # a remembered token still meets the cutoff on every request
        assert_problem(client.get("/api/v1/things", headers=headers), 401)
    finally:
        app.extensions["crm_cutoffs"] = cutoffs
    time.sleep(max(0.0, now + 2 - time.time()) + 0.1)
    assert_problem(client.get("/api/v1/things", headers=headers), 401)  # expired, though remembered
