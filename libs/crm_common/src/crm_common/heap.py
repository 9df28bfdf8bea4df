"""Short garbage-collection pauses for long-running processes.

A started service holds a few hundred thousand long-lived objects (modules, classes, SQLAlchemy
mappings, schemas). CPython's full collection walks all of them with the event loop stopped, and
under load it runs every few seconds: those pauses make the tail of a service's latency (see
README.md, "Measured"). `freeze()` collects once and moves everything alive after start-up into
the permanent generation that collections skip, so later full collections walk only what the
process made since (gc.freeze, the technique CPython added for forking servers).

`paused()` holds collections off for a block that makes many short-lived containers (a batch of events
projected: its rows, keys and dicts), which reference counting frees at its end: a collection during it
would walk them for nothing. Cycles made meanwhile wait for the first collection after it.
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

from nameko.extensions import DependencyProvider


def freeze() -> None:
    """Collect what start-up left behind, then keep every surviving object out of later collections."""
    gc.collect()
    gc.freeze()


_PAUSE = threading.Lock()
_paused = [0, False]  # blocks inside paused(), whether collections were enabled before the first


@contextmanager
def paused():
    """No automatic collection while the block runs (nested or concurrent blocks: until the last one ends)."""
    with _PAUSE:
        if _paused[0] == 0:
            _paused[1] = gc.isenabled()
            gc.disable()
        _paused[0] += 1
    try:
        yield
    finally:
        with _PAUSE:
            _paused[0] -= 1
            if _paused[0] == 0 and _paused[1]:
                gc.enable()


class FrozenStartupHeap(DependencyProvider):
    """Freezes the heap once the service's extensions are set up and starting (see freeze())."""

    def start(self):
        freeze()

    def get_dependency(self, worker_ctx):
        return None
