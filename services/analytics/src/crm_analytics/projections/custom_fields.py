"""Custom field definitions into the read models: a producer announces each change of a definition with its
`record_changed` event (entity `custom_field`, crm_common.records.definitions), carrying the definition as it
now stands; a deleted one is kept, marked deleted (a saved report over it still runs). The values themselves
ride on each record's own events (`custom_fields`) and are kept on its row (projections/sales.py, service.py)."""
from __future__ import annotations

from crm_analytics.projections.base import upsert

FIELDS = ("resource", "name", "label", "type")


def definition_changed(s, env, data):
    if data.get("entity") != "custom_field" or not data.get("id"):
        return
    definition = data.get("definition") if isinstance(data.get("definition"), dict) else {}
    values = {k: definition[k] for k in FIELDS if definition.get(k) is not None}
    if "choices" in definition:
        values["choices"] = list(definition.get("choices") or [])
    values["deleted"] = data.get("action") == "delete"
    if values["deleted"] and s.get("custom_fields", {"id": data["id"]}) is None and "name" not in values:
        return  # the deletion of a field announced before definitions rode on the event: nothing to mark
    upsert(s, "custom_fields", {"id": data["id"]}, values)


PROJECTORS = {"service_desk.record_changed.v1": definition_changed}
