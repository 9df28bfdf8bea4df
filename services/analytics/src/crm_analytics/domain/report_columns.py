"""The columns a saved report names over its source: the read model's own (domain/report_sources.py) and
`custom.<name>`, a custom field its producer announced for the source's resource (projections/custom_fields.py),
read from the row's JSON `custom_fields` (no migration per field). A definition may name only live fields; a
saved report over a field deleted since still runs (the values stay on the rows, as at the producer)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Numeric, and_, select

from crm_common.records import custom_fields as cf

from crm_analytics.domain.filters import money
from crm_analytics.domain.log import active
from crm_analytics.domain.report_sources import SOURCES

PREFIX = "custom."
# a custom field's type -> the column type of the report (the export's typed cells); others are text
KIND = {"number": "integer", "decimal": "number", "date": "date", "boolean": "boolean"}


def custom_name(column: str) -> str | None:
    """`name` of a `custom.<name>` column (None for a column of the model's own)."""
    return column[len(PREFIX):] if isinstance(column, str) and column.startswith(PREFIX) else None


class Columns:
    """The columns of one report source in the active generation, resolved once per use."""

    def __init__(self, session, source_name: str):
        self.session, self.name = session, source_name
        self.source = SOURCES[source_name]
        self.t = active(session)
        self.table = getattr(self.t, self.source.table)
        self._defs: dict | None = None

    def definitions(self) -> dict[str, dict]:
        """The announced custom fields of the source's resource by name (a live one over a deleted namesake)."""
        if self._defs is None:
            self._defs = {}
            if "custom_fields" in self.table.c:
                d = self.t.custom_fields
                found = self.session.execute(select(d).where(d.c.resource == self.source.resource)
                                             .order_by(d.c.deleted.desc())).mappings()
                self._defs = {row["name"]: dict(row) for row in found}
        return self._defs

    def field(self, column: str) -> dict | None:
        name = custom_name(column)
        return self.definitions().get(name) if name else None

    def known(self, column: str) -> bool:
        """Whether a definition may name `column` (a custom field: a live one)."""
        if column in self.source.columns:
            return True
        field = self.field(column)
        return field is not None and not field["deleted"]

    def unknown_message(self, column: str) -> str:
        if custom_name(column) is not None:
            return f"{column}: no such custom field of {self.source.resource}"
        return f"{column}: not a column of {self.name}"

    def kind(self, column: str) -> str:
        if column in self.source.columns:
            return self.source.columns[column]
        field = self.field(column)
        return KIND.get(field["type"], "text") if field else "text"

    def groupable(self, column: str) -> bool:
        field = self.field(column)
        return field is None or field["type"] != "multi_choice"

    def expr(self, column: str):
        """The SQL expression of a column (a custom field's value typed as its definition says)."""
        if column in self.source.columns:
            return self.table.c[column]
        element = self.table.c.custom_fields[custom_name(column)]
        kind = (self.field(column) or {}).get("type")
        if kind == "number":
            return element.as_integer()
        if kind == "decimal":
            return element.as_string().cast(Numeric(30, 10))
        if kind == "boolean":
            return element.as_boolean()
        if kind == "multi_choice":
            return element
        return element.as_string()

    def condition(self, column: str, value):
        """The WHERE clause of filter `column` = `value` (a multi choice: holds it); ValueError (a message) for a
        value the field cannot hold."""
        field = self.field(column)
        if field is None:
            return self.table.c[column].is_(None) if value is None else self.table.c[column] == value
        element = self.table.c.custom_fields[custom_name(column)]
        if value is None:
            return element.as_string().is_(None)
        stored = cf.coerce(field, value, from_text=True)
        if field["type"] == "multi_choice":
            return and_(*[cf.json_contains(self.session, element, item) for item in stored])
        if field["type"] == "decimal":
            return self.expr(column) == Decimal(stored)
        return self.expr(column) == stored



def plain(value, kind: str):
    """A value of a column of `kind` as a row of the report carries it (JSON: amounts and decimals as strings, a
    multi choice's choices joined with "; ")."""
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    if isinstance(value, Decimal):
        return money(value) if kind == "money" else format(value.normalize(), "f")
    if isinstance(value, (datetime, date)):
        return value.isoformat().replace("+00:00", "Z")
    return value
