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
    assert len({text[-1] for text in ids}) == 16 and len({text[20:23] for text in ids}) > 2500  # 60 bits random


def _parsed(text: str) -> uuid.UUID:
    parsed = uuid.UUID(text)
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
    return parsed


def test_ids_made_in_a_tight_loop_rise_strictly_within_a_millisecond():
    """Rows that tie on a time (a transaction's runs and notifications, stamped with one time) are listed by id:
    the ids must follow the order they were made in, also within one millisecond (RFC 9562 section 6.2)."""
    ids = [new_ordered_id() for _ in range(10_000)]
    parsed = [_parsed(text) for text in ids]
    assert all(a < b for a, b in zip(ids, ids[1:]))  # as text
    assert all(a < b for a, b in zip(parsed, parsed[1:]))  # as UUIDs
    assert all(a.int < b.int for a, b in zip(parsed, parsed[1:]))
    milliseconds = [text[:13] for text in ids]
    assert len(set(milliseconds)) < len(ids)  # many made in one millisecond: their order is the counter's
    assert int(ids[-1].replace("-", "")[:12], 16) <= time.time() * 1000 + 2  # not run far ahead of the clock


def test_a_clock_set_back_does_not_make_ids_go_back(monkeypatch):
    from crm_common import ids as ids_module
    now = [time.time_ns() + 3_600 * 10**9]  # an hour ahead, then back to now: the latest millisecond is kept
    monkeypatch.setattr(ids_module, "_time_ns", lambda: now[0])
    made = [new_ordered_id() for _ in range(100)]
    now[0] -= 3_600 * 10**9
    made += [new_ordered_id() for _ in range(20_000)]  # more than a millisecond's counter holds
    now[0] += 7_200 * 10**9
    made += [new_ordered_id() for _ in range(100)]
    for text in made:
        _parsed(text)
    assert all(a < b for a, b in zip(made, made[1:]))
    assert len({text[:13] for text in made[:20_100]}) >= 2  # the counter ran out: the next millisecond, not back


def test_ids_made_by_threads_rise_in_the_order_they_were_handed_out():
    """Threads that take turns (one makes its id after the other's came back) get rising ids; none repeats."""
    import threading
    made: list[str] = []
    lock = threading.Lock()

    def make():
        for _ in range(2_000):
            with lock:  # the order the ids came back in is the list's
                made.append(new_ordered_id())

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 8_000 and all(a < b for a, b in zip(made, made[1:]))

    unordered: list[str] = []  # without taking turns: still unique, valid ids
    threads = [threading.Thread(target=lambda: unordered.extend(new_ordered_id() for _ in range(5_000)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(unordered)) == 20_000 and all(_parsed(text) for text in unordered[::97])
