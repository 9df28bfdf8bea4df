"""The route table: one line per route builds the HTTP route, its call and its document."""
from __future__ import annotations

import hashlib
import json
import time
import uuid

import jwt
import pytest
from flask import request
from marshmallow import fields

from crm_common.contracts.fields import Timestamp
from crm_common.contracts.registry import RpcContract
from crm_common.contracts.schemas import ListQuery, Patch, Record, Strict, page
from crm_common.idempotency import Idempotent, fingerprint
from crm_common.rpcclient import RawJson
from crm_gateway import idempotency
from crm_gateway.app import create_app
from crm_gateway.conventions import PUBLIC_IDENTIFIED, Route, build, resource
from crm_gateway.settings import JWT_AUDIENCE, JWT_ISSUER


class Widget(Record):
    name = fields.String()
    seen_at = Timestamp()


class WidgetIn(Strict):
    name = fields.String(required=True)


class WidgetChange(Patch):
    name = fields.String()


class WidgetQuery(ListQuery):
    SORTABLE = ("created_at", "name")
    colour = fields.String()


def contract(method, input=None, output=Widget, permission=("lead", "read"), record=False, many=False):
    return RpcContract("widgets", method, input, output, many, f"{method} of the test", permission, record)


ROUTES = [
    *resource("widgets", contract("list_widgets", WidgetQuery, page(Widget, "WidgetPage")),
              contract("create_widget", WidgetIn, permission=("lead", "create")),
              contract("get_widget", record=True),
              contract("update_widget", WidgetChange, permission=("lead", "update"), record=True),
              contract("delete_widget", None, None, ("lead", "delete"), record=True)),
    Route("POST", "/widgets/<id>/polish", contract("polish_widget", None, permission=("lead", "update"),
                                                  record=True), answers={409: "polished already"}),
    # nested records, a token link, If-Match off the default
    Route("POST", "/widgets/<id>/notes", contract("add_note", WidgetIn, permission=("lead", "update"), record=True),
          201, location="/widgets/{widget_id}/notes"),
    Route("POST", "/widgets/<id>/tags", contract("tag_widget", WidgetIn, permission=("lead", "update"), record=True),
          201),
    Route("POST", "/widgets/<string:token>/answers", contract("answer_widget", WidgetIn, permission=None), 201,
          access=PUBLIC_IDENTIFIED, idempotent=False),
    Route("PATCH", "/widget-settings", contract("update_widget_settings", WidgetChange, permission=("lead", "update")),
          if_match=True),
    Route("PATCH", "/widgets/<id>/colour", contract("paint_widget", WidgetChange, permission=("lead", "update"),
                                                   record=True), if_match=False),
    Route("POST", "/widgets/<id>/share", contract("share_widget", None, permission=("lead", "update"), record=True),
          options={"client_ip": lambda: request.remote_addr, "via": "link"},
          after=lambda **call: AFTER.append(call), answers={409: "shared already"}),
    Route("POST", "/widget-copies", contract("copy_widget", WidgetIn, permission=("lead", "create")), 201,
          location="/widgets/{id}"),
    Route("POST", "/widgets/<id>/duplicates", contract("duplicate_widget", None, permission=("lead", "create"),
                                                       record=True), status=201, location="/widget-copies/{id}"),
    Route("POST", "/widget-notes", contract("create_widget_note", WidgetIn, permission=("lead", "create")),
          status=201, location=""),
]
AFTER: list = []


class Recorder:
    """Stands in for the RPC pool: records each call, answers as a service that dumped its output."""

    def __init__(self):
        self.calls = []
        self.actors = []
        self.on_replays = []  # each call's `on_replay` (None: none given)
        self.kept = set()  # Idempotency-Keys whose calls answer as a service answers a repeat (a kept answer)

    def call(self, service, method, *args, actor=None, request_id=None, raw_reply=False, on_replay=None, **kwargs):
        """The answer; asked for it raw (a list), as the JSON text a service writes (RawJson)."""
        self.on_replays.append(on_replay)
        answer = self.answer(service, method, *args, actor=actor, **kwargs)
        if kwargs.get("idempotent") is not None and kwargs["idempotent"].key in self.kept:
            on_replay()
        return RawJson(json.dumps(answer).encode()) if raw_reply else answer

    def answer(self, service, method, *args, actor=None, **kwargs):
        self.calls.append((service, method, args, kwargs))
        self.actors.append(actor)
        if method == "list_widgets":
            return {"items": [{"id": "w1", "version": 1, "name": "a"}], "next_cursor": None}
        if method == "delete_widget":
            return None
        body = args[0] if args else {}
        if method in ("add_note", "tag_widget", "answer_widget"):
            return {"id": "7d0c4c1e-0000-4000-8000-0000000000ff", "widget_id": kwargs.get("id"), **body}
        if method == "duplicate_widget":
            return {"id": "7d0c4c1e-0000-4000-8000-0000000000c0", "version": 1, **body}
        return {"id": kwargs.get("id", "7d0c4c1e-0000-4000-8000-000000000001"), "version": 3, **body,
                "seen_at": "2026-11-23T08:00:00.000000Z"}


@pytest.fixture(scope="module")
def app(settings_of):
    application = create_app(settings_of())
    for blueprint in build("test", ROUTES):
        application.extensions["crm_api"].register_blueprint(blueprint)

    class EveryoneActive:
        def get(self, user_id, fetch):
            return {"active": True, "valid_after": None}

    application.extensions["crm_cutoffs"] = EveryoneActive()
    application.extensions["crm_rpc"] = Recorder()
    return application


def headers(keypair, perms):
    now = int(time.time())
    claims = {"iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "sub": str(uuid.uuid4()), "iat": now, "exp": now + 600,
              "jti": str(uuid.uuid4()), "typ": "access", "roles": ["sales_rep"], "perms": perms}
    return {"Authorization": f"Bearer {jwt.encode(claims, keypair[0], algorithm='EdDSA')}"}


ALL = {"lead": {"read": "all", "create": "all", "update": "all", "delete": "all"}}
WID = "7d0c4c1e-0000-4000-8000-00000000000a"


def test_each_line_answers_its_method_with_the_call_the_contract_names(app, keypair):
    client, rpc = app.test_client(), app.extensions["crm_rpc"]
    rpc.calls.clear()
    h = headers(keypair, ALL)
    listed = client.get("/api/v1/widgets?colour=red&limit=5", headers=h)
    assert listed.status_code == 200 and listed.get_json()["items"][0]["name"] == "a"
    made = client.post("/api/v1/widgets", json={"name": "b"}, headers=h)
    assert made.status_code == 201 and made.headers["ETag"] == '"3"'
    assert made.headers["Location"].endswith("/api/v1/widgets/7d0c4c1e-0000-4000-8000-000000000001")
    got = client.get(f"/api/v1/widgets/{WID.upper()}", headers=h)
    assert got.status_code == 200 and got.get_json()["id"] == WID  # one id converter: lower-case text
    changed = client.patch(f"/api/v1/widgets/{WID}", json={"name": "c"}, headers={**h, "If-Match": '"3"'})
    assert changed.status_code == 200 and changed.get_json()["name"] == "c"
    assert client.delete(f"/api/v1/widgets/{WID}", headers=h).status_code == 204
    assert client.post(f"/api/v1/widgets/{WID}/polish", headers=h).status_code == 200
    assert [(m, a, k) for _, m, a, k in rpc.calls] == [
        ("list_widgets", ({"colour": "red", "limit": 5, "cursor": None, "sort": "-created_at", "q": None},), {}),
        ("create_widget", ({"name": "b"},), {}),
        ("get_widget", (), {"id": WID}),
        ("update_widget", ({"name": "c"},), {"id": WID, "expected_version": 3}),
        ("delete_widget", (), {"id": WID}),
        ("polish_widget", (), {"id": WID}),
    ]


def test_a_create_with_an_idempotency_key_carries_the_key_and_fingerprint_to_its_service(app, keypair):
    """Issue 18: the service keeps the key with the record it makes (crm_common.idempotency), so a retry after
    a replica died past its commit gets that record; only the route's call carries it, calls without a key none."""
    client, rpc = app.test_client(), app.extensions["crm_rpc"]
    rpc.calls.clear()
    h, key, body = headers(keypair, ALL), f"widget-{uuid.uuid4()}", b'{"name": "keyed"}'
    made = client.post("/api/v1/widgets", data=body, content_type="application/json",
                       headers={**h, "Idempotency-Key": key})
    assert made.status_code == 201
    plain = client.post("/api/v1/widgets", json={"name": "plain"}, headers=h)
    assert plain.status_code == 201
    (_, _, _, keyed), (_, _, _, unkeyed) = rpc.calls
    expected = fingerprint("POST /api/v1/widgets", hashlib.sha256(body).hexdigest())
    assert keyed == {"idempotent": Idempotent(key, expected)}
    assert unkeyed == {}
    assert rpc.on_replays[-2:] == [idempotency.replayed_by_service, None]


def test_a_create_the_service_answers_with_its_kept_answer_says_it_is_a_replay(app, keypair):
    """The service answers a repeat of the key with the answer it kept (the gateway keeps no record for a route
    whose call carries the key): the response carries `Idempotent-Replayed: true`; a call the service ran does not."""
    client, rpc = app.test_client(), app.extensions["crm_rpc"]
    rpc.calls.clear()
    h, kept, fresh = headers(keypair, ALL), f"widget-{uuid.uuid4()}", f"widget-{uuid.uuid4()}"
    rpc.kept.add(kept)
    replayed = client.post("/api/v1/widgets", json={"name": "kept"}, headers={**h, "Idempotency-Key": kept})
    assert replayed.status_code == 201 and replayed.headers.get("Idempotent-Replayed") == "true"
    assert replayed.headers["Location"].endswith("/api/v1/widgets/7d0c4c1e-0000-4000-8000-000000000001")
    ran = client.post("/api/v1/widgets", json={"name": "new"}, headers={**h, "Idempotency-Key": fresh})
    assert ran.status_code == 201 and "Idempotent-Replayed" not in ran.headers
    plain = client.post("/api/v1/widgets", json={"name": "plain"}, headers=h)
    assert plain.status_code == 201 and "Idempotent-Replayed" not in plain.headers
    again = client.post("/api/v1/widgets", json={"name": "kept"}, headers={**h, "Idempotency-Key": kept})
    assert len(rpc.calls) == 4  # the gateway keeps nothing for the key: the service answers the repeat again
    assert again.status_code == 201 and again.get_json() == replayed.get_json()
    assert again.headers["Idempotent-Replayed"] == "true" and again.headers["Location"] == replayed.headers["Location"]


def test_a_keyed_repeat_is_answered_by_the_service_with_the_answer_it_kept(app, keypair):
    """The route's service keeps the key with its answer (crm_common.idempotency); the gateway keeps nothing, so
    a repeat goes to the service with the same key and fingerprint and is answered with its kept answer."""
    client, rpc = app.test_client(), app.extensions["crm_rpc"]
    h, key, body = headers(keypair, ALL), f"widget-{uuid.uuid4()}", b'{"name": "once"}'

    def post():
        return client.post("/api/v1/widgets", data=body, content_type="application/json",
                           headers={**h, "Idempotency-Key": key})
    assert post().status_code == 201
    rpc.kept.add(key)  # the service answers the repeat with its kept answer
    again = post()
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert rpc.calls[-1][3] == {"idempotent": Idempotent(key, fingerprint("POST /api/v1/widgets",
                                                                          hashlib.sha256(body).hexdigest()))}


def test_the_declared_permission_is_enforced_before_the_body_is_read(app, keypair):
    client, rpc = app.test_client(), app.extensions["crm_rpc"]
    rpc.calls.clear()
    reader = headers(keypair, {"lead": {"read": "own"}})
    assert client.get("/api/v1/widgets", headers=reader).status_code == 200
    refused = client.post("/api/v1/widgets", json={"nonsense": 1}, headers=reader)
    assert refused.status_code == 403  # not 422: a caller without the right learns nothing from validation
    assert client.delete(f"/api/v1/widgets/{WID}", headers=reader).status_code == 403
    assert [m for _, m, _, _ in rpc.calls] == ["list_widgets"]


def test_bad_input_is_refused_at_the_door_with_the_contract_schema(app, keypair):
    client, rpc = app.test_client(), app.extensions["crm_rpc"]
    rpc.calls.clear()
    h = headers(keypair, ALL)
    assert client.post("/api/v1/widgets", json={"name": "b", "extra": 1}, headers=h).status_code == 422
    assert client.patch(f"/api/v1/widgets/{WID}", json={}, headers=h).status_code == 422
    assert client.get("/api/v1/widgets?sort=colour", headers=h).status_code == 422
    assert client.get("/api/v1/widgets/not-a-uuid", headers=h).status_code == 404
    assert rpc.calls == []


def test_the_document_names_each_route_its_schemas_and_permission(app):
    spec = app.test_client().get("/openapi.json").get_json()
    item = spec["paths"]["/api/v1/widgets/{record_id}"]
    assert set(item) >= {"get", "patch", "delete"}
    assert "412" in item["patch"]["responses"] and item["get"]["responses"]["200"]
    assert spec["paths"]["/api/v1/widgets"]["post"]["responses"]["201"]


def test_nested_records_token_links_and_if_match_where_the_table_says(app, keypair):
    client, rpc = app.test_client(), app.extensions["crm_rpc"]
    rpc.calls.clear()
    rpc.actors.clear()
    h = headers(keypair, ALL)
    note = client.post(f"/api/v1/widgets/{WID}/notes", json={"name": "n"}, headers=h)
    assert note.status_code == 201 and note.headers["Location"].endswith(f"/api/v1/widgets/{WID}/notes")
    tag = client.post(f"/api/v1/widgets/{WID}/tags", json={"name": "t"}, headers=h)
    assert tag.status_code == 201 and "Location" not in tag.headers  # a nested path names no item route
    anonymous = client.post("/api/v1/widgets/not-a-uuid_token/answers", json={"name": "a"})
    assert anonymous.status_code == 201
    signed = client.post("/api/v1/widgets/tok/answers", json={"name": "a"}, headers=h)
    assert signed.status_code == 201
    assert client.post("/api/v1/widgets/tok/answers", json={"name": "a"},
                       headers={"Authorization": "Bearer nonsense"}).status_code == 401
    settings = client.patch("/api/v1/widget-settings", json={"name": "s"}, headers={**h, "If-Match": '"4"'})
    painted = client.patch(f"/api/v1/widgets/{WID}/colour", json={"name": "red"}, headers={**h, "If-Match": "x"})
    assert settings.status_code == 200 and painted.status_code == 200  # If-Match not read: not even a bad one
    assert [(m, a, k) for _, m, a, k in rpc.calls] == [
        ("add_note", ({"name": "n"},), {"id": WID}),
        ("tag_widget", ({"name": "t"},), {"id": WID}),
        ("answer_widget", ({"name": "a"},), {"token": "not-a-uuid_token"}),
        ("answer_widget", ({"name": "a"},), {"token": "tok"}),
        ("update_widget_settings", ({"name": "s"},), {"expected_version": 4}),
        ("paint_widget", ({"name": "red"},), {"id": WID}),
    ]
    assert rpc.actors[2] is None and rpc.actors[3] is not None  # the token link identifies who signs in
    spec = app.test_client().get("/openapi.json").get_json()
    answers = spec["paths"]["/api/v1/widgets/{token}/answers"]["post"]
    assert answers["security"] == [] and "412" in spec["paths"]["/api/v1/widget-settings"]["patch"]["responses"]
    assert "412" not in spec["paths"]["/api/v1/widgets/{record_id}/colour"]["patch"]["responses"]


def test_a_delete_with_if_match_calls_with_the_expected_version_and_documents_its_412(app, keypair):
    client, rpc = app.test_client(), app.extensions["crm_rpc"]
    rpc.calls.clear()
    deleted = client.delete(f"/api/v1/widgets/{WID}", headers={**headers(keypair, ALL), "If-Match": '"4"'})
    assert deleted.status_code == 204
    assert [(m, k) for _, m, _, k in rpc.calls] == [("delete_widget", {"id": WID, "expected_version": 4})]
    spec = client.get("/openapi.json").get_json()
    assert "412" in spec["paths"]["/api/v1/widgets/{record_id}"]["delete"]["responses"]


def test_options_are_asked_per_request_and_after_runs_with_the_calls_keywords(app, keypair):
    client, rpc = app.test_client(), app.extensions["crm_rpc"]
    rpc.calls.clear()
    AFTER.clear()
    client.environ_base["REMOTE_ADDR"] = "10.0.0.7"
    assert client.post(f"/api/v1/widgets/{WID}/share", headers=headers(keypair, ALL)).status_code == 200
    assert [(m, k) for _, m, _, k in rpc.calls] == [
        ("share_widget", {"client_ip": "10.0.0.7", "via": "link", "id": WID})]
    assert AFTER == [{"client_ip": "10.0.0.7", "via": "link", "id": WID}]
    spec = client.get("/openapi.json").get_json()
    assert "409" in spec["paths"]["/api/v1/widgets/{record_id}/share"]["post"]["responses"]


def test_a_created_record_answers_with_the_location_the_route_names(app, keypair):
    made = app.test_client().post("/api/v1/widget-copies", json={"name": "b"}, headers=headers(keypair, ALL))
    assert made.status_code == 201
    assert made.headers["Location"].endswith("/api/v1/widgets/7d0c4c1e-0000-4000-8000-000000000001")


def test_an_answer_with_a_body_is_the_text_its_service_wrote_read_only_for_its_etag_and_location(app, keypair):
    """The service dumped its answer once: the gateway asks for its JSON text and passes it on as it came (the
    Recorder writes it with spaces, which the gateway's own encoding would not), a 204 asks for nothing."""
    client, rpc, h = app.test_client(), app.extensions["crm_rpc"], headers(keypair, ALL)
    made = client.post("/api/v1/widgets", json={"name": "b"}, headers=h)
    assert made.data == json.dumps({"id": "7d0c4c1e-0000-4000-8000-000000000001", "version": 3, "name": "b",
                                    "seen_at": "2026-11-23T08:00:00.000000Z"}).encode()
    assert made.headers["ETag"] == '"3"' and made.mimetype == "application/json"
    assert made.headers["Location"].endswith("/api/v1/widgets/7d0c4c1e-0000-4000-8000-000000000001")
    changed = client.patch(f"/api/v1/widgets/{WID}", json={"name": "c"}, headers={**h, "If-Match": '"3"'})
    assert changed.data == json.dumps({"id": WID, "version": 3, "name": "c",
                                       "seen_at": "2026-11-23T08:00:00.000000Z"}).encode()
    assert changed.headers["ETag"] == '"3"'
    shared = client.post(f"/api/v1/widgets/{WID}/share", headers=h)  # a route with an `after`
    assert shared.status_code == 200 and shared.data.startswith(b'{"id": ')


def test_a_documented_answer_of_a_route(app):
    spec = app.test_client().get("/openapi.json").get_json()
    assert spec["paths"]["/api/v1/widgets/{record_id}/polish"]["post"]["responses"]["409"]["description"] == (
        "polished already")


def test_a_route_may_name_the_location_of_its_answer_or_none(app, keypair):
    client, h = app.test_client(), headers(keypair, ALL)
    copied = client.post(f"/api/v1/widgets/{WID}/duplicates", headers=h)
    assert copied.status_code == 201 and copied.headers["ETag"] == '"1"'
    assert copied.headers["Location"].endswith("/api/v1/widget-copies/7d0c4c1e-0000-4000-8000-0000000000c0")
    noted = client.post("/api/v1/widget-notes", json={"name": "n"}, headers=h)
    assert noted.status_code == 201 and noted.get_json()["name"] == "n" and "Location" not in noted.headers


def test_an_export_asked_with_an_idempotency_key_carries_it_to_the_integration_service(app, keypair):
    """The export's job is kept by the integration service with the key (as a create's record is), so a retry
    after the gateway lost its record starts no second export; asked without a key, its call carries none."""
    client, rpc = app.test_client(), app.extensions["crm_rpc"]
    rpc.calls.clear()
    h, key, body = headers(keypair, ALL), f"export-{uuid.uuid4()}", b'{"resource": "leads"}'
    queued = client.post("/api/v1/exports", data=body, content_type="application/json",
                         headers={**h, "Idempotency-Key": key})
    assert queued.status_code == 202, queued.get_json()
    plain = client.post("/api/v1/exports", json={"resource": "leads"}, headers=h)
    assert plain.status_code == 202
    (service, method, _, keyed), (_, _, _, unkeyed) = rpc.calls
    assert (service, method) == ("integration", "start_export")
    assert keyed == {"idempotent": Idempotent(key, fingerprint("POST /api/v1/exports", hashlib.sha256(body).hexdigest()))}
    assert unkeyed == {}
    assert rpc.on_replays[-2:] == [idempotency.replayed_by_service, None]
