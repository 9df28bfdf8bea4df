"""A retry after the service died past its commit gets the first answer (issue 18): the probe producer commits a
record and its event, then is killed (SIGKILL, `CRM_FAULT=kill_after_commit`) before it answers; the caller
times out (the gateway's 503) and sends the call again with the same Idempotency-Key once a process is back.
The key was kept with the answer in the transaction that made the record, so the retry -- and the broker's
redelivery of the unanswered request -- get that record: one record, one event, the same id."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm_common.context import Actor
from crm_common.db import make_engine
from crm_common.errors import ServiceError
from crm_common.idempotency import Idempotent, fingerprint
from crm_common.testing.probe import ProbeRecord

pytestmark = pytest.mark.integration
CALLER = Actor(user_id="0b8e7c52-5a1d-4c8e-9a57-3f1f5d2d0001", kind="user")


def records(world, key: str) -> list[str]:
    engine = make_engine(world.env["PROBE_PRODUCER_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(ProbeRecord.id).where(ProbeRecord.key == key)).scalars())
    finally:
        engine.dispose()


def test_a_retry_with_its_key_after_the_service_died_past_its_commit_gets_the_first_answer(world):
    producer = world.start("producer", CRM_FAULT="kill_after_commit")
    call = Idempotent("retry-after-crash-0001", fingerprint("POST /api/v1/probes", "digest-1"))
    world.pool.timeout = 3
    with pytest.raises(ServiceError):  # the process dies under the call: no answer ever comes
        world.call("probe_producer", "create", {"key": "crashed", "seq": 1}, actor=CALLER, idempotent=call)
    world.pool.timeout = 10
    assert producer.wait_exit(10) == -9  # SIGKILL, after the commit
    assert len(records(world, "crashed")) == 1
    world.start("producer")  # without the fault; the broker redelivers the unanswered request to it
    replays = []
    answer = world.call("probe_producer", "create", {"key": "crashed", "seq": 1}, actor=CALLER, idempotent=call,
                        on_replay=lambda: replays.append("retry"))
    assert replays == ["retry"]  # answered with the kept answer, and the reply says so
    made = records(world, "crashed")
    assert made == [answer["id"]] and answer == {"id": made[0], "key": "crashed", "seq": 1}
    assert len(world.call("probe_producer", "emitted", "crashed")) == 1  # one event: the repeats emitted nothing
    again = world.call("probe_producer", "create", {"key": "crashed", "seq": 1}, actor=CALLER, idempotent=call,
                       on_replay=lambda: replays.append("again"))
    assert again == answer and replays == ["retry", "again"]
    other = Idempotent(call.key, fingerprint("POST /api/v1/probes", "digest-2"))
    with pytest.raises(ServiceError) as refused:  # the key used for another request
        world.call("probe_producer", "create", {"key": "crashed", "seq": 2}, actor=CALLER, idempotent=other)
    assert refused.value.code == "validation_failed"
    assert records(world, "crashed") == made



def test_a_repeats_reply_says_it_is_a_replay_and_a_first_calls_does_not(world):
    """The reply of a call answered with the answer kept for its key carries the replay header
    (crm_common.rpcclient.REPLAYED, read as the call's `on_replay`): the gateway then answers the client's
    retry with `Idempotent-Replayed: true`. The result itself is the same either way."""
    world.start("producer")
    call = Idempotent("replayed-reply-0001", fingerprint("POST /api/v1/probes", "digest-1"))
    replays = []

    def create(**keyed):
        return world.call("probe_producer", "create", {"key": "replayed", "seq": 1}, actor=CALLER,
                          on_replay=lambda: replays.append(len(replays)), **keyed)

    first = create(idempotent=call)
    assert replays == []  # it ran: no replay
    assert create(idempotent=call) == first and replays == [0]
    assert create(idempotent=call) == first and replays == [0, 1]
    unkeyed = create()  # no key: it runs again, never a replay
    assert unkeyed["id"] != first["id"] and replays == [0, 1]
    assert len(records(world, "replayed")) == 2
