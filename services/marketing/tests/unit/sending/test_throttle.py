"""The shared SMTP rate limit: per second and per minute, for every sender process together."""
from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import text

from crm_common.db import make_engine
from crm_common.testing.harness import database_url
from crm_marketing.domain.throttle import Throttle
from crm_marketing.models import Base


class Clock:
    def __init__(self, start=1_000_000.0):
        self.now = start

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'rate.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def test_per_second_limit_and_the_next_second(engine):
    clock = Clock()
    throttle = Throttle(engine, "acct", per_second=10, per_minute=1000, clock=clock, sleep=clock.sleep)
    assert throttle.claim(50) == (10, 0.0)
    granted, wait = throttle.claim(5)
    assert granted == 0 and 0 < wait <= 1
    clock.sleep(wait)
    assert throttle.claim(5)[0] == 5


def test_per_minute_is_a_sliding_window(engine):
    clock = Clock()
    throttle = Throttle(engine, "acct", per_second=10, per_minute=25, clock=clock, sleep=clock.sleep)
    sent = []
    while clock.now < 1_000_000 + 130:
        throttle.take(10)
        sent.append(int(clock.now))
    per_second = Counter(sent)
    assert max(per_second.values()) <= 10
    for start in range(1_000_000, 1_000_000 + 70):  # every 60-second window
        assert sum(n for s, n in per_second.items() if start <= s < start + 60) <= 25
    assert len(sent) >= 25 * 2  # and it goes on after the window slides


def test_accounts_are_limited_apart(engine):
    clock = Clock()
    a = Throttle(engine, "a", per_second=3, per_minute=100, clock=clock, sleep=clock.sleep)
    b = Throttle(engine, "b", per_second=3, per_minute=100, clock=clock, sleep=clock.sleep)
    assert a.claim(3)[0] == 3 and b.claim(3)[0] == 3 and a.claim(1)[0] == 0


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def shared_url(request, tmp_path):
    """One database for two senders: a SQLite file, or a PostgreSQL database of the test's own (dropped after)."""
    with database_url(request.param, "marketing", tmp_path) as url:
        yield url


def test_two_senders_together_stay_under_the_limit(shared_url):
    """Two senders with engines of their own on one database (as two processes would), in real time; on
    PostgreSQL each claim waits for the other's on the account's lock."""
    url = shared_url
    setup = make_engine(url)
    Base.metadata.create_all(setup)
    setup.dispose()
    stamps, lock = [], threading.Lock()
    stop = time.time() + 2.5

    def sender():
        engine = make_engine(url)
        throttle = Throttle(engine, "shared", per_second=20, per_minute=45)
        while time.time() < stop:
            granted, wait = throttle.claim(5)
            with lock:
                stamps.extend([time.time()] * granted)
            if not granted:
                time.sleep(min(wait, 0.02))
        engine.dispose()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stamps) <= 45  # all within one minute
    check = make_engine(url)
    with check.connect() as conn:  # each second as the senders claimed it
        assert conn.execute(text("SELECT max(sent), sum(sent) FROM send_rate_slots")).one() == (20, len(stamps))
    check.dispose()
    assert len(stamps) >= 40  # both sent: the limit is what stopped them, not a stall
