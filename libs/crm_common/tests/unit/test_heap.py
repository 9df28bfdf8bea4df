"""A started process keeps its start-up objects out of later full collections."""
from __future__ import annotations

import gc

from crm_common.heap import FrozenStartupHeap


def test_starting_a_service_freezes_what_start_up_made():
    gc.unfreeze()
    survivor = [object() for _ in range(1000)]  # alive at start, like a service's modules and mappings
    try:
        FrozenStartupHeap().start()
        assert gc.get_freeze_count() >= len(survivor)
        tracked = {id(obj) for obj in gc.get_objects()}
        assert id(survivor) not in tracked  # the full collections that follow do not walk it
    finally:
        gc.unfreeze()
