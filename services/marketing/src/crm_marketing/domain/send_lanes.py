"""The handoff of a batch over several SMTP sessions at once (CRM_SEND_CONNECTIONS; 4 on PostgreSQL, 1 on SQLite).

Each lane has its own SMTP session and its own connection for the handoff marks (send_log.Marker), so one
lane's wait for the server or the database overlaps the others'. Every message still follows the send log's
rule on its own: at a crash, at most one message per lane is between its mark and the end of its DATA. All
lanes take from the one shared rate limit (throttle). Messages are composed before the batch, so the lanes
do little but wait: real threads in the job's worker process, green threads inside the service.
"""
from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from crm_common import config, mail
from crm_marketing.domain import send_log
from crm_marketing.domain.send_log import Item, Outcomes


SWITCH = 0.0002  # seconds: how soon a lane back from the database or the SMTP server runs again


@dataclass
class Result:
    outcomes: Outcomes = field(default_factory=Outcomes)
    suppress: list = field(default_factory=list)  # (address, hash) of hard bounces
    failed: list = field(default_factory=list)  # (item, refusal): refused for good
    soft: list = field(default_factory=list)  # items refused for now: tried again later
    error: BaseException | None = None  # what stopped a lane (Unavailable, or worse)

    def merge(self, other: "Result") -> None:
        self.outcomes.sent += other.outcomes.sent
        self.outcomes.now += other.outcomes.now
        self.suppress += other.suppress
        self.failed += other.failed
        self.soft += other.soft
        self.error = self.error or other.error


class Sending:
    def __init__(self, futures: list, result: Result):
        self.futures, self._result = futures, result

    def result(self) -> Result:
        for future, part in self.futures:
            error = future.exception()
            self._result.merge(part)
            self._result.error = self._result.error or error
        self.futures = []
        return self._result


def lanes_for(engine) -> int:
    return max(1, config.env_int("CRM_SEND_CONNECTIONS", 1 if engine.dialect.name == "sqlite" else 4))


def _prompt_handoffs() -> None:
    """Real threads (the job's worker process, no eventlet): a lane takes the GIL back within SWITCH seconds,
    not Python's default 5 ms, while the batch thread composes the next batch. A lane waits for it between its
    mark leaving for the database and its "." (send_log.Marker): the send log's one gap, where a crash leaves
    that recipient presumed sent without the message."""
    from eventlet import patcher
    if not patcher.is_monkey_patched("thread"):
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH))


class Lanes:
    def __init__(self, engine, account, throttle, envelope_from: str):
        self.count = lanes_for(engine)
        self.sessions = [(mail.Connection(account), send_log.Marker(engine)) for _ in range(self.count)]
        self.throttle, self.envelope_from = throttle, envelope_from
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(self.count, "send-lane") if self.count > 1 else None
        if self.pool is not None:
            _prompt_handoffs()

    def start(self, items: list[Item], soft_tries: int, final: bool) -> "Sending":
        """Begin handing the items over (at once, with one lane: it is done when this returns); `.result()`
        waits and tells what became of them. A lane stopped by an error leaves the rest of its items pending
        (sent by the resumed job)."""
        if self.pool is None:
            result = Result()
            self._lane(0, items, soft_tries, final, result)
            return Sending([], result)
        parts = [(i, items[i::self.count], Result()) for i in range(self.count) if items[i::self.count]]
        return Sending([(self.pool.submit(self._lane, i, chunk, soft_tries, final, part), part)
                        for i, chunk, part in parts], Result())

    def _lane(self, lane: int, items: list[Item], soft_tries: int, final: bool, result: Result) -> None:
        smtp, marker = self.sessions[lane]
        outcomes = result.outcomes
        for item in items:
            with self.lock:
                self.throttle.take(len(items) * self.count)
            item.attempts += 1
            try:
                try:
                    smtp.send_bytes(item.data, self.envelope_from, item.email,
                                    before_end=lambda item=item: marker(item, outcomes))
                finally:
                    marker.confirm()  # the mark sent before the "." (send_log.Marker) is done
            except mail.Refused as refusal:
                last = refusal.permanent or final or item.attempts >= soft_tries
                outcomes.now.append(send_log.refused(item, refusal.code, refusal.response, refusal.permanent, last))
                if refusal.permanent:
                    result.suppress.append((item.email, item.email_hash))
                (result.failed.append((item, refusal)) if last else result.soft.append(item))
            except mail.Unavailable as exc:
                result.error = exc
                return
            else:
                outcomes.sent.append(item)

    def close(self) -> None:
        for smtp, marker in self.sessions:
            smtp.close()
            marker.close()
        if self.pool is not None:
            self.pool.shutdown(wait=True)
