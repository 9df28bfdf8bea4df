"""The sender's doorbell: rung when this process's consumer has committed deliveries it queued (a fan-out), so
the send loop looks at once instead of after its idle tick. Plain threading: green under eventlet."""
from __future__ import annotations

import threading
import time


class Doorbell:
    """Rung after the consumer's commit of queued deliveries: the sender looks at once instead of after its
    idle tick (a ring while it works is kept: its next wait returns at once)."""

    def __init__(self):
        self._event = threading.Event()
        self.rung_at = 0.0
        self.join = None  # while a sender runs in this process: its round, joined by the consumer's transaction

    def ring(self) -> None:
        self.rung_at = time.monotonic()
        self._event.set()

    def wait(self, timeout: float) -> bool:
        rung = self._event.wait(timeout)
        self._event.clear()
        return rung


DOORBELL = Doorbell()
