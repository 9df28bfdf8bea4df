"""One rate limit per SMTP account, shared by every sender process: a sliding window in the database.

`CRM_SMTP_RATE_PER_SECOND` (100) and `CRM_SMTP_RATE_PER_MINUTE` (3000) bound the messages handed to one
account (`crm_common.mail.SmtpAccount.key`) by all senders together. The table `send_rate_slots` holds, per account,
how many messages were handed over in each second; the minute is the sum of the last 60 seconds' slots.
A sender asks for up to n messages and gets what both limits leave (or waits for the next second). The
claim is one short transaction serialized per account (`crm_common.db.serialize_on`: an advisory lock on
PostgreSQL, SQLite's one writer elsewhere); so two senders together never exceed either limit. A claimed
message that a sender then does not send (a crash) is capacity lost for that second, never a message too many.
"""
from __future__ import annotations

import time

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from crm_common import config, db
from crm_marketing.models import SendRateSlot

WINDOW = 60  # seconds of the per-minute limit
KEEP = 2 * WINDOW  # slots older than this are removed
CHUNK = 50  # the most a sender claims at once (or a tenth of a second's limit): others get their share too

T = SendRateSlot.__table__


def limits() -> tuple[int, int]:
    return (config.env_int("CRM_SMTP_RATE_PER_SECOND", 100), config.env_int("CRM_SMTP_RATE_PER_MINUTE", 3000))


class Throttle:
    """`take(n)` blocks until one message may go (n: how many the caller has to send, claimed ahead within the
    second); `acquire(n)` until at least one may go, returning how many may go in this second (1..n)."""

    def __init__(self, engine: Engine, account: str, per_second: int | None = None, per_minute: int | None = None,
                 clock=time.time, sleep=time.sleep):
        default_second, default_minute = limits()
        self.engine, self.account = engine, account
        self.per_second = per_second or default_second
        self.per_minute = per_minute or default_minute
        self.clock, self.sleep = clock, sleep
        self._lock = f"crm-smtp-rate:{account}"
        self._left, self._slot = 0, None  # messages claimed for `_slot` and not sent yet

    def take(self, want: int = 1, conn=None) -> None:
        if self._left <= 0 or self._slot != int(self.clock()):  # a claim is good for its own second only
            self._left = self.acquire(want, conn)
        self._left -= 1

    def claim(self, want: int, conn=None) -> tuple[int, float]:
        """(messages granted for this second, seconds to wait before asking again when none). With `conn`, in the
        caller's transaction (an RPC's: on SQLite a second transaction would wait for the first)."""
        want = max(1, min(want, max(CHUNK, self.per_second // 10), self.per_second))
        if conn is not None:
            return self._claim(want, conn, own=False)
        with self.engine.begin() as own:
            return self._claim(want, own, own=True)

    def _claim(self, want: int, conn, own: bool) -> tuple[int, float]:
        db.serialize_on(conn, self._lock)
        now = self.clock()
        slot = int(now)
        rows = dict(conn.execute(select(T.c.slot, T.c.sent).where(
            T.c.account == self.account, T.c.slot > slot - WINDOW)).all())
        in_second, in_minute = rows.get(slot, 0), sum(rows.values())
        granted = min(want, self.per_second - in_second, self.per_minute - in_minute)
        if granted <= 0:
            if self.per_minute - in_minute <= 0:  # until the oldest second with sends leaves the window
                oldest = min(s for s, n in rows.items() if n > 0)
                return 0, max(0.01, oldest + WINDOW - now)
            return 0, max(0.01, slot + 1 - now)
        if slot in rows:
            conn.execute(update(T).where(T.c.account == self.account, T.c.slot == slot)
                         .values(sent=T.c.sent + granted))
        else:
            conn.execute(insert(T).values(account=self.account, slot=slot, sent=granted))
            conn.execute(delete(T).where(T.c.account == self.account, T.c.slot < slot - KEEP))
        self._slot = slot
        return granted, 0.0

    def acquire(self, want: int, conn=None) -> int:
        while True:
            granted, wait = self.claim(want, conn)
            if granted:
                return granted
            self.sleep(wait)
