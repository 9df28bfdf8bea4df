"""Short garbage-collection pauses for long-running processes.

A started service holds a few hundred thousand long-lived objects (modules, classes, SQLAlchemy
mappings, schemas). CPython's full collection walks all of them with the event loop stopped, and
under load it runs every few seconds: those pauses make the tail of a service's latency (see
README.md, "Measured"). `freeze()` collects once and moves everything alive after start-up into
the permanent generation that collections skip, so later full collections walk only what the
process made since (gc.freeze, the technique CPython added for forking servers).
"""
from __future__ import annotations

import gc

from nameko.extensions import DependencyProvider


def freeze() -> None:
    """Collect what start-up left behind, then keep every surviving object out of later collections."""
    gc.collect()
    gc.freeze()


class FrozenStartupHeap(DependencyProvider):
    """Freezes the heap once the service's extensions are set up and starting (see freeze())."""

    def start(self):
        freeze()

    def get_dependency(self, worker_ctx):
        return None
