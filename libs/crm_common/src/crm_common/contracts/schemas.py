"""The bases every contract builds on: strict input, a partial update, a list's query and its page.

    class LeadQuery(ListQuery):               # GET /leads?status=new&sort=-created_at&limit=50
        SORTABLE = ("created_at", "name")
        status = fields.String()

    LeadPage = page(Lead, "LeadPage")         # {"items": [...], "next_cursor": "..."}
"""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from crm_common.contracts.fields import AT_LEAST_ONE_FIELD, CURSOR_RULE, Sort, Text, Timestamp


class Strict(Schema):
    """Input: a field the contract does not name is refused (422), never silently dropped."""

    class Meta:
        unknown = RAISE
        ordered = True


class Patch(Strict):
    """A partial update: only the fields sent change, and at least one is sent."""

    OPENAPI = AT_LEAST_ONE_FIELD

    @validates_schema(pass_original=True)
    def _not_empty(self, data, original_data, **kwargs):
        if not original_data:  # what was sent (a field's load_default is not a change)
            raise ValidationError("send at least one field to change", "_schema")


class Record(Schema):
    """Output: what every stored record says about itself."""

    class Meta:
        ordered = True

    id = fields.String(required=True)
    version = fields.Integer(strict=True)
    created_at = Timestamp()
    updated_at = Timestamp()


class ListQuery(Strict):
    """A list's query: the page size, the cursor from the previous page, the sort and a search text.
    Subclass it with the list's filters and its SORTABLE fields."""

    SORTABLE: tuple[str, ...] = ("created_at",)
    RULES = (CURSOR_RULE,)

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = Text(load_default=None, allow_none=True, metadata={"description": CURSOR_RULE})
    sort = Sort(load_default="-created_at", metadata={"description": "a field of the list, - first for descending"})
    q = Text(load_default=None, allow_none=True, validate=validate.Length(max=200))


class Page(Schema):
    next_cursor = fields.String(allow_none=True)


def page(item: type[Schema], name: str) -> type[Schema]:
    """The `{"items": [...], "next_cursor": ...}` of a list of `item`."""
    return type(name, (Page,), {"items": fields.List(fields.Nested(item), required=True)})


def list_query(name: str, filters: type[Schema] | None = None, sortable: tuple[str, ...] | None = None,
               **overrides) -> type[Schema]:
    """A ListQuery with `filters`' fields (a plain Schema of filters) and its SORTABLE."""
    bases = (ListQuery, filters) if filters is not None else (ListQuery,)
    sortable = sortable or getattr(filters, "SORTABLE", None) or ListQuery.SORTABLE
    return type(name, bases, {"SORTABLE": tuple(sortable), **overrides})


class Job(Schema):
    """A long-running job as its clients see it (crm_common.jobs.PUBLIC): progress, errors, result."""

    id = fields.String(required=True)
    kind = fields.String()
    status = fields.String(metadata={"description": "queued, running, done, failed or cancelled"})
    total = fields.Integer(strict=True)
    processed = fields.Integer(strict=True)
    succeeded = fields.Integer(strict=True)
    failed = fields.Integer(strict=True)
    errors = fields.List(fields.Dict())
    result = fields.Dict(allow_none=True)
    owner_id = fields.String(allow_none=True)
    created_at = Timestamp()
    started_at = Timestamp(allow_none=True)
    finished_at = Timestamp(allow_none=True)
