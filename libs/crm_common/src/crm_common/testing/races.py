"""Races made to happen in tests, one step at a time."""
from __future__ import annotations

from crm_common import idempotency


def key_lookup_misses_once(monkeypatch) -> None:
    """The next look-up of a kept Idempotency-Key finds nothing, though the key is kept: as when the same request,
    run twice at once (a redelivery meeting the retry), has both runs miss the key before either commits."""
    real_find, misses = idempotency.find, []

    def find_missing_once(*args):
        if not misses:
            misses.append(1)
            return idempotency.MISSING
        return real_find(*args)

    monkeypatch.setattr(idempotency, "find", find_missing_once)
