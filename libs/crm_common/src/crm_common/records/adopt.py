"""How a service's create and update take custom fields: the values are checked against the definitions
before the service's own function runs, so the record is written, and its event carries `custom_fields`, as one
change. The service's create passes `data["custom_fields"]` to its model and its update applies it like any
field; its event data adds `custom_fields`."""
from __future__ import annotations

from typing import Callable

from crm_common.records import custom_fields as cf


def creating(metadata, resource: str, model, create: Callable):
    """`create(ctx, data)` with `data["custom_fields"]` validated and defaults filled (422 naming the field), and
    `data["tags"]` each once."""
    def created(ctx, data: dict, *args, **kwargs):
        data["custom_fields"] = cf.values_for_create(ctx.session, metadata, resource, data.get("custom_fields"), model)
        if data.get("tags") is not None:
            data["tags"] = list(dict.fromkeys(data["tags"]))
        return create(ctx, data, *args, **kwargs)
    created.__doc__ = create.__doc__
    created.__dict__.update(create.__dict__)  # what create declares (crm_common.ahead: its first read)
    return created


def updating(metadata, resource: str, model, update: Callable, load: Callable):
    """`update(ctx, id, data)` with `data["custom_fields"]` (a partial object: null clears a field) merged into the
    record's; `load(ctx, id)` is the service's scoped read for update (404 out of scope)."""
    def updated(ctx, record_id: str, data: dict, expected_version: int | None = None):
        if "custom_fields" in data:
            record = load(ctx, record_id)
            data["custom_fields"] = cf.merged(ctx.session, metadata, resource, record, data["custom_fields"], model)
        if data.get("tags") is not None:
            data["tags"] = list(dict.fromkeys(data["tags"]))
        return update(ctx, record_id, data, expected_version)
    updated.__doc__ = update.__doc__
    return updated
