"""Record ids: random (version 4) by default, time-ordered (version 7) for bulk inserts."""
import time
import uuid

from crm_common.db import new_id, new_ordered_id


def test_ordered_ids_are_version_7_uuids_that_sort_by_time():
    first = new_ordered_id()
    time.sleep(0.002)
    later = [new_ordered_id() for _ in range(1000)]
    parsed = uuid.UUID(first)
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122 and str(parsed) == first
    assert abs(int(first.replace("-", "")[:12], 16) - time.time() * 1000) < 5000  # its milliseconds are now
    assert all(first < other for other in later)  # a later millisecond sorts after, as text too
    assert len(set(later)) == 1000


def test_default_ids_stay_random():
    assert uuid.UUID(new_id()).version == 4


def test_event_ids_are_random_version_4_uuids():
    from crm_common.envelope import make_envelope, new_event_id
    ids = [new_event_id() for _ in range(5000)] + [make_envelope("probe.emitted.v1", {}, "probe", None, None)["event_id"]]
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
    assert len(set(ids)) == len(ids)
    assert len({text[0] for text in ids}) == 16  # the leading digit too is random, not a time
