"""Time-ordered ids: UUIDs of version 7 (RFC 9562), for event ids and for rows inserted in bulk."""
from __future__ import annotations

import os
import time

_RANDOM_BLOCK = 10 * 512  # bytes of os.urandom read at a time: 512 ids' 80 bits (74 used)
_random_pool: list[int] = []
os.register_at_fork(after_in_child=_random_pool.clear)  # a forked child never hands out its parent's bits


def _random_bits() -> int:
    """74 bits from os.urandom, read 512 ids' worth at a time (list.pop is atomic: no lock needed)."""
    while True:
        try:
            return _random_pool.pop()
        except IndexError:
            block = os.urandom(_RANDOM_BLOCK)
            _random_pool.extend(int.from_bytes(block[start:start + 10], "big") & ((1 << 74) - 1)
                                for start in range(0, _RANDOM_BLOCK, 10))


_time_ns = time.time_ns
_stamp = (-1, "")  # the latest millisecond an id was made in, and its text: the id's first 15 characters


def new_ordered_id() -> str:
    """A UUID of version 7 as text: the milliseconds since the epoch, then 74 random bits. Ids made later sort
    after as text, so rows keyed or uniquely indexed by them go in at the right-hand end of the index instead of
    at random places in it (see README.md, "Measured"). Not for anything that must be unguessable: the time is
    readable, and fewer bits are random. The millisecond's text is made once per millisecond and does not go
    back when the clock is set back (the latest is kept until the clock passes it again; threads at a
    millisecond's turn may hand out the one before); the random bits come from `_random_bits`, not a call to
    the operating system per id."""
    global _stamp
    bits = _random_bits()
    stamp, ms = _stamp, _time_ns() // 1_000_000
    if ms > stamp[0]:
        text = f"{ms:012x}"
        stamp = _stamp = ms, f"{text[:8]}-{text[8:]}-7"
    text = f"{(bits >> 62) << 64 | 0x8000_0000_0000_0000 | bits & 0x3FFF_FFFF_FFFF_FFFF:019x}"
    return f"{stamp[1]}{text[:3]}-{text[3:7]}-{text[7:]}"
