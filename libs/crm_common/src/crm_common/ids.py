"""Time-ordered ids: UUIDs of version 7 (RFC 9562), for event ids and for rows inserted in bulk."""
from __future__ import annotations

import os
import time

_RANDOM_BLOCK = 10 * 512  # bytes of os.urandom read at a time: 512 ids' 80 bits (74 used)
_VARIANT = "89ab89ab89ab89ab"  # a hex digit's two low bits under the variant's `10` (RFC 9562), by the digit
_tails: list[str] = []
os.register_at_fork(after_in_child=_tails.clear)  # a forked child never hands out its parent's bits


def _refill() -> str:
    """`_tails` filled again (an id's last 21 characters, `xxx-vxxx-xxxxxxxxxxxx`: 74 random bits, the variant in
    `v`), made from os.urandom 512 at a time, as text already; one of them."""
    while True:
        digits = os.urandom(_RANDOM_BLOCK).hex()  # 20 hex digits an id: 3 + 2 bits of the 4th + 3 + 12 used
        _tails.extend(f"{digits[at:at + 3]}-{_VARIANT[int(digits[at + 3], 16)]}{digits[at + 4:at + 7]}-"
                      f"{digits[at + 7:at + 19]}" for at in range(0, len(digits), 20))
        try:
            return _tails.pop()
        except IndexError:  # other threads took them all meanwhile
            continue


_time_ns = time.time_ns
_stamp = (-1, "")  # the latest millisecond an id was made in, and its text: the id's first 15 characters


def new_ordered_id() -> str:
    """A UUID of version 7 as text: the milliseconds since the epoch, then 74 random bits. Ids made later sort
    after as text, so rows keyed or uniquely indexed by them go in at the right-hand end of the index instead of
    at random places in it (see README.md, "Measured"). Not for anything that must be unguessable: the time is
    readable, and fewer bits are random. The millisecond's text is made once per millisecond and does not go
    back when the clock is set back (the latest is kept until the clock passes it again; threads at a
    millisecond's turn may hand out the one before); the random part comes from `_tails` (`_refill`), not a call
    to the operating system nor a formatting per id."""
    global _stamp
    try:  # list.pop is atomic: no lock needed
        tail = _tails.pop()
    except IndexError:
        tail = _refill()
    stamp, ms = _stamp, _time_ns() // 1_000_000
    if ms > stamp[0]:
        text = f"{ms:012x}"
        stamp = _stamp = ms, f"{text[:8]}-{text[8:]}-7"
    return stamp[1] + tail
