"""How the contracts' schemas become /openapi.json: every rule a schema can state is stated.

apispec documents marshmallow's `Range`, `Length`, `OneOf`, `Regexp` and field metadata. On top:
- a field with `openapi_properties()` (a list's `sort`: its allow-list as an enum) adds them;
- a field checked with `validate.Email` is `format: email`;
- a dict whose keys are `OneOf` a few names lists them as its properties (no other key);
- a schema's `OPENAPI` class attribute (`minProperties: 1` of a partial update, `oneOf` of fields that
  exclude each other) is merged into its schema object;
- a schema's `RULES` (sentences: what the server checks that no JSON Schema states, such as a
  reference to a record that must exist) are appended to its description, and an operation taking
  such a schema lists its 422 as "refused by a rule" (`x-crm-refuses-valid-input: true`), so a
  client knows which well-formed requests may still be refused.
"""
from __future__ import annotations

from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from marshmallow import Schema, fields, validate

REFUSES_VALID_INPUT = "x-crm-refuses-valid-input"


def contract_properties(self, field: fields.Field, ret: dict, **kwargs) -> dict:
    """apispec attribute function: what a contract field states beyond apispec's own reading."""
    extra = {}
    props = getattr(field, "openapi_properties", None)
    if props is not None:
        extra.update(props())
    keys = getattr(field, "key_field", None)
    choices = [v.choices for v in getattr(keys, "validators", ()) if isinstance(v, validate.OneOf)]
    if isinstance(field, fields.Dict) and choices:  # OpenAPI 3.0 has no propertyNames: name each key
        value = self.field2property(field.value_field) if field.value_field is not None else {}
        extra.update(properties={key: value for key in choices[0]}, additionalProperties=False)
    if isinstance(field, fields.String) and "format" not in ret and any(
            isinstance(v, validate.Email) for v in getattr(field, "validators", ())):
        extra["format"] = "email"
    return extra


class ContractConverter(OpenAPIConverter):
    def schema2jsonschema(self, schema):
        jsonschema = super().schema2jsonschema(schema)
        jsonschema.update(getattr(schema, "OPENAPI", None) or {})
        rules = rules_of(schema)
        if rules:
            said = jsonschema.get("description")
            checked = "The server also checks: " + "; ".join(rules) + "."
            jsonschema["description"] = f"{said} {checked}" if said else checked
        return jsonschema


class ContractPlugin(MarshmallowPlugin):
    Converter = ContractConverter

    def init_spec(self, spec):
        super().init_spec(spec)
        self.converter.add_attribute_function(contract_properties)


def rules_of(schema) -> tuple[str, ...]:
    """A schema's RULES and those of the schemas nested in it, each once."""
    cls = schema if isinstance(schema, type) else type(schema)
    seen: list[str] = []
    _collect(cls, seen, set())
    return tuple(seen)


def _collect(cls, seen: list, visited: set) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Schema)) or cls in visited:
        return
    visited.add(cls)
    for rule in getattr(cls, "RULES", ()):
        if rule not in seen:
            seen.append(rule)
    for field in cls._declared_fields.values():
        inner = getattr(field, "inner", None) or field
        nested = getattr(inner, "nested", None)
        if callable(nested) and not isinstance(nested, type):
            continue
        _collect(nested, seen, visited)


def refusal_response(schema) -> dict | None:
    """The 422 of an operation whose input has RULES: named as such, the rules in its description."""
    rules = rules_of(schema)
    if not rules:
        return None
    return {"description": "Unprocessable Entity: the request breaks the schema, or is refused by a rule it cannot state: "
                           + "; ".join(rules) + ".",
            "content": {"application/problem+json": {"schema": "Problem"}},
            REFUSES_VALID_INPUT: True}
