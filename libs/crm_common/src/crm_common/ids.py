"""Time-ordered ids: UUIDs of version 7 (RFC 9562), for event ids and for rows inserted in bulk."""
from __future__ import annotations

import itertools
import os
import threading
import time

_RANDOM_BLOCK = 8 * 512  # bytes of os.urandom read at a time: 512 ids' 64 bits (60 used)
_VARIANT = "89ab"  # the variant's `10` (RFC 9562) and the counter's lowest two bits, as a hex digit
COUNTER_BITS = 14  # rand_a (12 bits) and the two bits after the variant: RFC 9562 section 6.2, method 1
_SEED_BITS = COUNTER_BITS - 1  # a millisecond's counter starts at random in the lower half: room for 8,192 more
_HEX3 = [f"{n:03x}-" for n in range(1 << 12)]  # the counter's upper 12 bits (rand_a) as text, `xxx-`
_LAST = (1 << COUNTER_BITS) - 1
_tails: list[str] = []


def _refill() -> str:
    """`_tails` filled again (an id's last 16 characters, `xxx-xxxxxxxxxxxx`: 60 random bits), made from
    os.urandom 512 at a time, as text already; one of them."""
    while True:
        digits = os.urandom(_RANDOM_BLOCK).hex()  # 16 hex digits an id, 15 used
        _tails.extend(f"{digits[at:at + 3]}-{digits[at + 3:at + 15]}" for at in range(0, len(digits), 16))
        try:
            return _tails.pop()
        except IndexError:  # other threads took them all meanwhile
            continue


class _Millisecond:
    """The millisecond ids are being made in: its text (an id's first 15 characters) and its counter."""

    __slots__ = ("ms", "text", "counter")

    def __init__(self, ms: int):
        text = f"{ms:012x}"
        self.ms, self.text = ms, f"{text[:8]}-{text[8:]}-7"
        self.counter = itertools.count(int.from_bytes(os.urandom(2), "big") >> (16 - _SEED_BITS))


_time_ns = time.time_ns
_turn = threading.Lock()  # taken once a millisecond (and when a millisecond's counter runs out), not per id


def _after_fork() -> None:
    global _turn
    _tails.clear()  # a forked child never hands out its parent's bits
    _turn = threading.Lock()  # nor waits for a lock a thread of its parent held


_current = _Millisecond(-1)
os.register_at_fork(after_in_child=_after_fork)


def _next_millisecond(ms: int) -> tuple[_Millisecond, int]:
    """A millisecond and its counter's next value, under `_turn`: the clock's when it is past the current one,
    else the current one while its counter lasts, then the one after it (the ids run ahead of the clock by a
    millisecond rather than go back or repeat)."""
    global _current
    with _turn:
        current = _current
        if ms <= current.ms:
            n = next(current.counter)
            if n <= _LAST:
                return current, n
            ms = current.ms + 1
        current = _current = _Millisecond(ms)
        return current, next(current.counter)


def new_ordered_id() -> str:
    """A UUID of version 7 as text: the milliseconds since the epoch, a 14-bit counter (rand_a and the two bits
    after the variant) that starts at random each millisecond, then 60 random bits. Each id made in a process
    sorts after the ids made before it in that process, as text and as a UUID, also within one millisecond and
    when the clock is set back (the latest millisecond is kept until the clock passes it again), across threads
    and greenthreads: rows keyed or indexed by them go in at the right-hand end of the index, and rows that tie on
    a time keep the order they were made in when ordered by id. Not for anything that must be unguessable: the
    time is readable, the counter follows the id before it, and fewer bits are random. The counter is an
    `itertools.count` (atomic); the millisecond's text is made once a millisecond, the random part comes from
    `_tails` (`_refill`), not a call to the operating system nor a formatting per id."""
    try:  # list.pop is atomic: no lock needed
        tail = _tails.pop()
    except IndexError:
        tail = _refill()
    current, ms = _current, _time_ns() // 1_000_000
    if ms <= current.ms:
        n = next(current.counter)
        if n > _LAST:
            current, n = _next_millisecond(ms)
    else:
        current, n = _next_millisecond(ms)
    return f"{current.text}{_HEX3[n >> 2]}{_VARIANT[n & 3]}{tail}"
