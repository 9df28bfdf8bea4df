"""Record ids: random (version 4) by default, time-ordered (version 7) for bulk inserts and for event ids."""
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


def test_event_ids_are_unique_version_7_uuids_that_sort_by_time():
    """What users of event ids rely on: valid RFC 9562 text, unique, and (since version 7) the moment each was
    made readable in its first 48 bits and later ids sorting after as text, so that every inbox, outbox and
    log keyed by them grows at the right-hand end of its index."""
    from crm_common.envelope import make_envelope, new_event_id
    before = time.time() * 1000
    first = new_event_id()
    time.sleep(0.002)
    ids = [new_event_id() for _ in range(5000)] + [make_envelope("probe.emitted.v1", {}, "probe", None, None)["event_id"]]
    after = time.time() * 1000
    for text in [first, *ids]:
        parsed = uuid.UUID(text)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
        assert before - 1 <= int(text.replace("-", "")[:12], 16) <= after + 1  # its millisecond, readable
    assert len(set(ids)) == len(ids)
    assert all(first < text for text in ids)  # made a later millisecond: sorts after, as text
    assert ids == sorted(ids, key=lambda text: text[:13])  # milliseconds never go back within a process
    assert len({text[-1] for text in ids}) == 16 and len({text[15:18] for text in ids}) > 1000  # 74 bits random
