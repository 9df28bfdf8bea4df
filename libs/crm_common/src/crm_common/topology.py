"""Every exchange and consumer queue of the suite, declared before any producer runs.

`python -m crm_common.topology declare` declares them (make run, compose, Kubernetes Job);
each service also declares its own queue when it starts.
"""
from __future__ import annotations

import sys

from kombu import Queue, binding

from crm_common import config
from crm_common.bus import connect, events_exchange

PRODUCERS = ("identity", "sales", "service_desk", "marketing", "analytics", "platform")

# consumer service -> producers whose events it receives (all their types: `#`).
# identity keeps the audit trail and analytics the read models, so both take everything.
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "identity": PRODUCERS,
    "sales": ("identity", "marketing", "service_desk"),
    "service_desk": ("identity", "sales"),
    "marketing": ("identity", "sales", "service_desk"),
    "analytics": PRODUCERS,
}


def subscriptions() -> dict[str, tuple[str, ...]]:
    """SUBSCRIPTIONS plus CRM_EXTRA_SUBSCRIPTIONS ("consumer=producer+producer;..."), used by test services."""
    result = dict(SUBSCRIPTIONS)
    for item in (config.env("CRM_EXTRA_SUBSCRIPTIONS", "") or "").split(";"):
        if "=" in item:
            consumer, producers = item.split("=", 1)
            result[consumer.strip()] = tuple(p.strip() for p in producers.split("+") if p.strip())
    return result


def queue_name(consumer: str) -> str:
    return f"crm.{consumer}.events"


def retry_queue_name(consumer: str, attempt: int) -> str:
    return f"crm.{consumer}.events.retry.{attempt}"


def _queue_args() -> dict:
    return {"x-queue-type": config.queue_type()}


def consumer_queue(consumer: str, producers: tuple[str, ...] | None = None) -> Queue:
    producers = subscriptions().get(consumer, ()) if producers is None else producers
    bindings = [binding(events_exchange(p), routing_key="#") for p in producers]
    return Queue(queue_name(consumer), bindings=bindings, durable=True, queue_arguments=_queue_args())


def retry_queues(consumer: str) -> list[Queue]:
    queues = []
    for attempt, delay in enumerate(config.retry_delays(), start=1):
        args = _queue_args()
        args.update({"x-message-ttl": int(delay * 1000), "x-dead-letter-exchange": "",
                     "x-dead-letter-routing-key": queue_name(consumer)})
        queues.append(Queue(retry_queue_name(consumer, attempt), durable=True, queue_arguments=args))
    return queues


def declare(consumers: dict[str, tuple[str, ...]] | None = None, uri: str | None = None) -> list[str]:
    """Declare exchanges, consumer queues with their bindings, and retry queues. Idempotent."""
    consumers = subscriptions() if consumers is None else consumers
    declared = []
    with connect(uri) as conn:
        conn.ensure_connection(max_retries=3)
        channel = conn.channel()
        for producer in sorted({p for ps in consumers.values() for p in ps} | set(PRODUCERS)):
            events_exchange(producer)(channel).declare()
        for consumer, producers in consumers.items():
            queue = consumer_queue(consumer, producers)(channel)
            queue.declare()
            declared.append(queue.name)
            for retry in retry_queues(consumer):
                retry(channel).declare()
                declared.append(retry.name)
    return declared


def main(argv: list[str]) -> int:
    if argv[:1] != ["declare"]:
        print("usage: python -m crm_common.topology declare", file=sys.stderr)
        return 2
    try:
        names = declare()
    except OSError as exc:
        print(f"error: cannot reach RabbitMQ at {config.redact_uri(config.amqp_uri())} ({exc}); start it or set AMQP_URI",
              file=sys.stderr)
        return 1
    print(f"declared {len(names)} queues")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
