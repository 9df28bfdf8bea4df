"""What domain unit tests give a Context as its `emit`: the events recorded, each checked against its contract."""
from __future__ import annotations

from crm_common.contracts import validate_event_data


class Events(list):
    """An `emit` that records (type, data) and refuses data that breaks the event's contract."""

    def __call__(self, type_: str, data: dict) -> None:
        errors = validate_event_data(type_, data)
        assert not errors, f"{type_}: {errors}"
        self.append((type_, data))

    def of(self, type_: str) -> list[dict]:
        return [data for t, data in self if t == type_]
