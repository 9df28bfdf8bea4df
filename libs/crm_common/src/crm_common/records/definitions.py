"""The custom field definitions of one service: list, create, read, change (label, choices, rules), delete.

`functions(metadata, owned, changed_event)` gives the domain functions a service wires to its
`custom_field_contracts(...)`; every change is announced with the service's `record_changed` event (entity
`custom_field`), so the audit trail keeps a deleted field's history, and, where the service caches definitions
(crm_common.generations), moves the generation token in the same transaction. A deleted field's values stay on the
records (hidden from lists); a field's name never changes (its label does), so renaming keeps the data.
"""
from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import select, update

from crm_common import generations
from crm_common.db import new_id, utcnow
from crm_common.errors import ServiceError, validation
from crm_common.records import custom_fields as cf
from crm_common.versioning import check_version


def _row(session, table, record_id: str) -> dict:
    row = session.execute(select(table).where(table.c.id == record_id, table.c.deleted_at.is_(None))).mappings().first()
    if row is None:
        raise ServiceError("not_found", "custom field not found")
    return dict(row)


def _check(definition: dict) -> None:
    kind, choices = definition["type"], definition["choices"]
    if kind in ("choice", "multi_choice"):
        if not choices:
            raise validation({"choices": ["a choice field needs at least one choice"]})
        if len(set(choices)) != len(choices):
            raise validation({"choices": ["each choice once"]})
    elif choices:
        raise validation({"choices": ["only a choice or multi_choice field has choices"]})
    if definition["unique"] and kind not in cf.UNIQUE_TYPES:
        raise validation({"unique": [f"a {kind} field cannot be unique"]})
    if definition["default"] is not None:
        if definition["unique"]:
            raise validation({"default": ["a unique field has no default"]})
        try:
            definition["default"] = cf.coerce(definition, definition["default"])
        except ValueError as exc:
            raise validation({"default": [str(exc)]}) from None


def functions(metadata, owned: tuple[str, ...], changed_event: str) -> SimpleNamespace:
    table = cf.install(metadata)

    def changed(ctx, row: dict, action: str, fields=()) -> None:
        if generations.installed(metadata):
            generations.changed(ctx.session, metadata)
        ctx.emit(changed_event, {"entity": "custom_field", "id": row["id"], "action": action,
                                 "changed_fields": list(fields),
                                 "definition": {k: row[k] for k in ("resource", "name", "label", "type", "choices")}})

    def listed(ctx, query: dict) -> dict:
        if query["resource"] not in owned:
            return {"items": [], "next_cursor": None}
        items = list(cf.definitions(ctx.session, metadata, query["resource"]).values())
        return {"items": items, "next_cursor": None}

    def create(ctx, data: dict) -> dict:
        if data["resource"] not in owned:
            raise validation({"resource": [f"this service owns {', '.join(owned)}"]})
        if data["name"] in cf.definitions(ctx.session, metadata, data["resource"]):
            raise ServiceError("conflict", f"the {data['resource']} resource has a custom field {data['name']!r}")
        definition = {**data, "choices": list(data.get("choices") or [])}
        _check(definition)
        now = utcnow()
        row = {**definition, "id": new_id(), "version": 1, "created_at": now, "updated_at": now, "deleted_at": None}
        ctx.session.execute(table.insert().values(**row))
        changed(ctx, row, "create")
        return row

    def get(ctx, record_id: str) -> dict:
        return _row(ctx.session, table, record_id)

    def change(ctx, record_id: str, data: dict, expected_version: int | None = None) -> dict:
        row = _row(ctx.session, table, record_id)
        check_version(SimpleNamespace(version=row["version"]), expected_version)
        merged = {**row, **data}
        _check(merged)
        fields = [name for name in data if merged[name] != row[name]]
        if not fields:
            return row
        values = {name: merged[name] for name in fields}
        values.update(version=row["version"] + 1, updated_at=utcnow())
        ctx.session.execute(update(table).where(table.c.id == record_id).values(**values))
        changed(ctx, {**row, **values}, "update", fields)
        return {**row, **values}

    def delete(ctx, record_id: str, expected_version: int | None = None) -> None:
        row = _row(ctx.session, table, record_id)
        check_version(SimpleNamespace(version=row["version"]), expected_version)
        ctx.session.execute(update(table).where(table.c.id == record_id).values(deleted_at=utcnow()))
        changed(ctx, row, "delete")

    return SimpleNamespace(list=listed, create=create, get=get, update=change, delete=delete)
