"""The sender's doorbell: rung when this process queued deliveries (a fan-out), so the send loop looks at once
instead of after its idle tick, and keeps looking often while events flow (the ring comes before the
consumer's commit, so the first look may find nothing yet). Plain threading: green under eventlet."""
from __future__ import annotations

import threading
import time


class Doorbell:
    """Rung when this process queued deliveries (fan-out): the sender looks at once instead of after its idle
    tick, and keeps looking often while events flow (the ring comes before the consumer's commit)."""

    def __init__(self):
        self._event = threading.Event()
        self.rung_at = 0.0

    def ring(self) -> None:
        self.rung_at = time.monotonic()
        self._event.set()

    def wait(self, timeout: float) -> bool:
        rung = self._event.wait(timeout)
        self._event.clear()
        return rung

    def recent(self, seconds: float = 1.0) -> bool:
        return time.monotonic() - self.rung_at < seconds


DOORBELL = Doorbell()
