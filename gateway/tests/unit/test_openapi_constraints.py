"""/openapi.json states the constraints the server applies: a client generated from it writes
requests the server accepts, and the server refuses what the document refuses."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from marshmallow import ValidationError, validate

import crm_sales_contracts as sales
import crm_service_desk_contracts as service_desk
from crm_common.contracts.fields import DecimalString
from crm_gateway.app import create_app
from crm_gateway.settings import Settings


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('g') / 'g.db'}"))
    return app.test_client().get("/openapi.json").get_json()


def schema_of(spec, path, method):
    ref = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


def query_param(spec, path, name):
    return next(p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name)["schema"]


def test_every_list_documents_its_sort_allow_list_as_an_enum(spec):
    lists = [path for path, ops in spec["paths"].items()
             if "get" in ops and any(p["name"] == "sort" for p in ops["get"].get("parameters", []))]
    assert len(lists) > 30
    for path in lists:
        sort = query_param(spec, path, "sort")
        assert sort.get("enum"), path
        assert sort["default"] in sort["enum"], path
    assert query_param(spec, "/api/v1/leads", "sort")["enum"] == [
        "created_at", "-created_at", "updated_at", "-updated_at", "last_name", "-last_name", "company", "-company",
        "score", "-score", "status", "-status"]
    assert query_param(spec, "/api/v1/users", "sort")["enum"] == [
        "created_at", "-created_at", "email", "-email", "full_name", "-full_name"]
    assert query_param(spec, "/api/v1/audit", "sort")["enum"] == ["occurred_at", "-occurred_at"]


def test_money_and_percentages_document_their_bounds_in_their_pattern(spec):
    schemas = spec["components"]["schemas"]
    percent = re.compile(schemas["QuoteCreate"]["properties"]["tax_percent"]["pattern"])
    assert [bool(percent.match(v)) for v in ("0", "7.5", "100", "100.00", "100.01", "101", "-1", "007")] == [
        True, True, True, True, False, False, False, False]
    price = re.compile(schemas["ProductCreate"]["properties"]["unit_price"]["pattern"])
    assert [bool(price.match(v)) for v in ("0", "9999999999999.99", "10000000000000", "-0.01")] == [
        True, True, False, False]
    amount = re.compile(schemas["ExpenseCreate"]["properties"]["amount"]["pattern"])
    assert [bool(amount.match(v)) for v in ("0.01", "0.10", "12", "0", "0.00", "0.001")] == [
        True, True, True, False, False, False]


@pytest.mark.parametrize("field", [
    sales.Money(minimum=0), sales.Money(), sales.Money(minimum=Decimal("0.01")), sales.Percent(),
    DecimalString(places=3, validate=validate.Range(min=0, min_inclusive=False, max=1_000_000)),
    DecimalString(minimum=0)])
def test_a_decimal_string_is_accepted_exactly_when_its_documented_pattern_matches(field):
    samples = ["0", "0.0", "0.00", "0.01", "0.001", "0.1", "1", "7.50", "99.99", "100", "100.0", "100.00", "100.01",
               "-0", "-1", "-0.01", "007", "1000000", "1000000.000", "1000000.001", "999999.999",
               "9999999999999.99", "10000000000000", "10000000000000.00", "999999999999999", "1e3", "", " 1", "1."]
    for sample in samples:
        try:
            field.deserialize(sample)
            accepted = True
        except ValidationError:
            accepted = False
        assert accepted == bool(re.match(field.metadata["pattern"], sample)), sample


def test_partial_updates_need_a_field_and_exclusive_fields_are_one_of(spec):
    for path in ("/api/v1/kb/articles/{record_id}", "/api/v1/sla-policies/{record_id}",
                 "/api/v1/service-contracts/{record_id}", "/api/v1/service-desk/settings"):
        assert schema_of(spec, path, "patch")["minProperties"] == 1, path
    target = schema_of(spec, "/api/v1/targets", "post")
    assert [branch["required"] for branch in target["oneOf"]] == [["user_id"], ["team_id"], ["territory_id"]]
    imports = schema_of(spec, "/api/v1/leads/imports", "post")
    assert [branch["required"] for branch in imports["oneOf"]] == [["rows"], ["csv"]]


def test_passwords_emails_stages_and_grants_are_stated(spec):
    user = schema_of(spec, "/api/v1/users", "post")
    assert user["properties"]["password"]["minLength"] == 12
    assert user["properties"]["email"]["format"] == "email"
    assert "international" in schema_of(spec, "/api/v1/leads", "post")["properties"]["phone"]["description"]
    stage = schema_of(spec, "/api/v1/opportunities", "post")["properties"]["stage"]
    assert stage["pattern"] and "prospecting" in stage["description"]
    grants = schema_of(spec, "/api/v1/roles", "post")["properties"]["permissions"]
    assert grants["additionalProperties"] is False and "lead" in grants["properties"]
    assert grants["properties"]["lead"]["properties"]["read"]["enum"] == ["none", "own", "team", "territory", "all"]


def test_rules_a_schema_cannot_state_are_listed_as_the_operations_422(spec):
    for path, method, words in (("/api/v1/routing-rules", "post", "group_id"),
                                ("/api/v1/service-contracts", "post", "sla_policy_id"),
                                ("/api/v1/lead-assignment-rules", "post", "territory_id"),
                                ("/api/v1/targets", "post", "territory_id must name existing records"),
                                ("/api/v1/calendar", "get", "to is after from")):
        refusal = spec["paths"][path][method]["responses"]["422"]
        assert refusal["x-crm-refuses-valid-input"] is True, path
        assert words in refusal["description"], path
    # a schema without such rules keeps the plain 422
    assert "x-crm-refuses-valid-input" not in spec["paths"]["/api/v1/kb/articles"]["post"]["responses"]["422"]


def test_a_partial_update_without_fields_is_refused_as_documented():
    with pytest.raises(ValidationError):
        service_desk.KbArticleUpdateSchema().load({})


def test_upserts_document_the_system_and_external_id_their_service_accepts(spec):
    """The fuzzer once sent `Eµ:e` as a system name (the document said any string) and got a 422."""
    path = "/api/v1/products/by-external-id/{system}/{external_id}"
    params = {p["name"]: p["schema"] for p in spec["paths"][path]["parameters"] if p["in"] == "path"}
    system, external_id = re.compile(params["system"]["pattern"]), re.compile(params["external_id"]["pattern"])
    assert system.search("erp.eu:1") and not system.search("Eµ:e") and not system.search("-lead")
    assert external_id.search("K-1 #2") and not external_id.search("a/b") and not external_id.search("é")
    bulk = "/api/v1/accounts/by-external-id/{system}/bulk"
    assert next(p for p in spec["paths"][bulk]["parameters"] if p["name"] == "system")["schema"] == \
        params["system"]


def test_the_order_upsert_documents_its_body_its_two_answers_and_its_bulk_form(spec):
    put = spec["paths"]["/api/v1/orders/by-external-id/{system}/{external_id}"]["put"]
    body = put["requestBody"]["content"]["application/json"]["schema"]
    schema = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]] if "$ref" in body else body
    assert {"currency", "lines"} <= set(schema["required"]) and "account_id" in schema["properties"]
    assert {"200", "201", "422"} <= set(put["responses"])
    assert "post" in spec["paths"]["/api/v1/orders/by-external-id/{system}/bulk"]
    order = spec["components"]["schemas"]["Order"]
    assert "external_ids" in order["properties"]
