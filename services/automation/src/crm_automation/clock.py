"""The automation service's clock: every due time (waits, retries, schedules, digests) is read here, so tests
move time with time-machine (unit tests) and nothing else needs patching."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta

from crm_common.db import utcnow

_HELD = "automation.clock.held"  # a session's info: the one time of its transaction's runs, steps and notifications


def now() -> datetime:
    return utcnow()


def after(seconds: float) -> datetime:
    return now() + timedelta(seconds=seconds)


@contextmanager
def held(session):
    """Inside: the runs, steps and notifications this session's transaction makes are stamped with one time
    (`now_in`), and a step's time text is made once (`text_in`): the intake's, for the events it takes together.
    Rows that tie on it are ordered by their ids, which rise in the order they were made (crm_common.ids)."""
    if session.info.get(_HELD) is not None:  # already held: the outer block's time
        yield session.info[_HELD][0]
        return
    at = now()
    session.info[_HELD] = (at, at.isoformat())
    try:
        yield at
    finally:
        session.info.pop(_HELD, None)


def now_in(session) -> datetime:
    """The time held for this session's transaction (`held`), else now."""
    found = session.info.get(_HELD)
    return found[0] if found is not None else now()


def text_in(session) -> str:
    """`now_in(session).isoformat()`, made once while held."""
    found = session.info.get(_HELD)
    return found[1] if found is not None else now().isoformat()
