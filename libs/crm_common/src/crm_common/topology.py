"""Every exchange and consumer queue of the suite, declared before any producer runs.

`python -m crm_common.topology declare` declares them (make run, compose, Kubernetes Job); each
service also declares its own queue when it starts.

A consumer's queue is bound to exactly the event types it handles: each service registers them in
its pyproject under the entry point group `crm.subscriptions` (name: the service, value: its
handler table `HANDLERS`, whose keys are event types, or `ALL` for the services that keep a copy of
everything: identity's audit trail and analytics). Bindings the registrations no longer name are
removed when the topology is declared again.
"""
from __future__ import annotations

import functools
import logging
import sys

from amqp.exceptions import AccessRefused, NotFound
from kombu import Exchange, Queue, binding

from crm_common import config
from crm_common.bus import connect, events_exchange

log = logging.getLogger(__name__)

PRODUCERS = ("identity", "sales", "service_desk", "marketing", "analytics", "platform", "automation", "integration")
ALL = "#"  # a consumer of every event of every producer
ENTRY_POINTS = "crm.subscriptions"
RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)  # nameko's, as nameko declares it


@functools.lru_cache(maxsize=1)
def registered() -> dict[str, str | tuple[str, ...]]:
    """consumer -> ALL or the event types it handles, from the installed services' entry points."""
    from importlib.metadata import entry_points
    result: dict[str, str | tuple[str, ...]] = {}
    for point in entry_points(group=ENTRY_POINTS):
        declared = point.load()
        result[point.name] = ALL if declared == ALL else tuple(sorted(declared))
    return result


def subscriptions() -> dict[str, str | tuple[str, ...]]:
    """The registered subscriptions plus CRM_EXTRA_SUBSCRIPTIONS ("consumer=item+item;..."), for test
    services: an item with a dot is an event type, one without a producer all of whose events it takes."""
    return {**registered(), **_extra()}


def subscription_of(consumer: str) -> str | tuple[str, ...]:
    """One consumer's subscription (what subscriptions()[consumer] says, () if none), loading its own entry point
    only: a service starting loaded every service's handler tables, so every process imported the seven services'
    handlers, models and domains (about 1 s of CPU at start and their memory for good, issue 18 item 10)."""
    extra = _extra()
    if consumer in extra:
        return extra[consumer]
    if registered.cache_info().currsize:  # every one is loaded already (topology job, broker users)
        return registered().get(consumer, ())
    return _registered_one(consumer)


@functools.lru_cache(maxsize=None)
def _registered_one(consumer: str) -> str | tuple[str, ...]:
    from importlib.metadata import entry_points
    for point in entry_points(group=ENTRY_POINTS, name=consumer):
        declared = point.load()
        return ALL if declared == ALL else tuple(sorted(declared))
    return ()


def _extra() -> dict[str, tuple[str, ...]]:
    result = {}
    for item in (config.env("CRM_EXTRA_SUBSCRIPTIONS", "") or "").split(";"):
        if "=" in item:
            consumer, items = item.split("=", 1)
            result[consumer.strip()] = tuple(p.strip() for p in items.split("+") if p.strip())
    return result


def routes(declared: str | tuple[str, ...]) -> list[tuple[str, str]]:
    """(producer, binding key) pairs of a subscription: `#` of every producer, or each type exactly."""
    if declared == ALL:
        return [(producer, "#") for producer in PRODUCERS]
    pairs = set()
    for item in declared:
        pairs.add((item.split(".", 1)[0], item) if "." in item else (item, "#"))
    return sorted(pairs)


def queue_name(consumer: str) -> str:
    return f"crm.{consumer}.events"


def retry_queue_name(consumer: str, attempt: int) -> str:
    return f"crm.{consumer}.events.retry.{attempt}"


def retry_exchange(consumer: str) -> Exchange:
    """A consumer's own direct exchange to its retry queues and back to its queue (retries, replays)."""
    return Exchange(f"crm.{consumer}.retry", type="direct", durable=True)


def consumer_of(queue: str) -> str:
    """The consumer a queue named by queue_name() belongs to."""
    return queue.removeprefix("crm.").removesuffix(".events")


def _queue_args() -> dict:
    return {"x-queue-type": config.queue_type()}


def consumer_queue(consumer: str, declared: str | tuple[str, ...] | None = None) -> Queue:
    """The consumer's queue with its bindings. The producers' exchanges are not declared with it (their
    owners and the topology job declare them; see ensure_exchanges)."""
    declared = subscription_of(consumer) if declared is None else declared
    bindings = [binding(Exchange(f"{producer}.events", type="topic", durable=True, no_declare=True), routing_key=key)
                for producer, key in routes(declared)]
    own = retry_exchange(consumer)
    bindings.append(binding(Exchange(own.name, type=own.type, durable=True, no_declare=True),
                            routing_key=queue_name(consumer)))
    return Queue(queue_name(consumer), bindings=bindings, durable=True, queue_arguments=_queue_args())


def retry_queues(consumer: str) -> list[Queue]:
    queues = []
    own = retry_exchange(consumer)
    for attempt, delay in enumerate(config.retry_delays(), start=1):
        args = _queue_args()
        args.update({"x-message-ttl": int(delay * 1000), "x-dead-letter-exchange": "",
                     "x-dead-letter-routing-key": queue_name(consumer)})
        name = retry_queue_name(consumer, attempt)
        queues.append(Queue(name, exchange=own, routing_key=name, durable=True, queue_arguments=args))
    return queues


def ensure(conn, declarations) -> None:
    """Declare each (name, declare, check) in turn on a channel of `conn`. Where the broker user may not
    declare it (a service's least-privilege user: another producer's exchange, a queue whose dead-letter
    exchange it may not write), check that it exists instead (passive): the topology job made it."""
    channel = conn.channel()
    for name, declare, check in declarations:
        try:
            declare(channel)
        except AccessRefused:
            channel = conn.channel()  # the refusal closed the channel
            try:
                check(channel)
            except NotFound:
                raise RuntimeError(f"{name} does not exist and this broker user may not declare it: run "
                                   "`python -m crm_common.topology declare` first") from None
            channel = conn.channel()


def consumer_declarations(consumer: str, declared=None) -> list:
    """What a consumer needs before it consumes: the exchanges it binds to, its retry queues."""
    declared = subscription_of(consumer) if declared is None else declared
    items = []
    for producer in sorted({p for p, _ in routes(declared)} | {consumer}):
        exchange = events_exchange(producer)
        items.append((exchange.name, lambda ch, e=exchange: e(ch).declare(),
                      lambda ch, e=exchange: ch.exchange_declare(e.name, e.type, passive=True)))
    own = retry_exchange(consumer)
    items.append((own.name, lambda ch: own(ch).declare(),
                  lambda ch: ch.exchange_declare(own.name, own.type, passive=True)))
    for queue in retry_queues(consumer):
        items.append((queue.name, lambda ch, q=queue: q(ch).declare(),
                      lambda ch, q=queue: ch.queue_declare(q.name, passive=True)))
    return items


def stale_routes(declared: str | tuple[str, ...]) -> list[tuple[str, str]]:
    """Bindings a queue may carry from an earlier release that its subscription no longer names: `#` of
    every producer and every event type in the contracts (unbinding one that does not exist is a no-op)."""
    from crm_common.contracts import EVENTS, load_all
    load_all()
    wanted = set(routes(declared))
    candidates = {(producer, "#") for producer in PRODUCERS}
    candidates |= {(type_.split(".", 1)[0], type_) for type_ in EVENTS}
    return sorted(candidates - wanted)


def declare(consumers: dict | None = None, uri: str | None = None) -> list[str]:
    """Declare exchanges, consumer queues with their bindings (removing stale ones), and retry queues."""
    consumers = subscriptions() if consumers is None else consumers
    declared = []
    with connect(uri) as conn:
        conn.ensure_connection(max_retries=3)
        channel = conn.channel()
        RPC_EXCHANGE(channel).declare()
        producers = {p for spec in consumers.values() for p, _ in routes(spec)} | set(PRODUCERS)
        for producer in sorted(producers):
            events_exchange(producer)(channel).declare()
        for consumer, spec in consumers.items():
            retry_exchange(consumer)(channel).declare()
            queue = consumer_queue(consumer, spec)(channel)
            queue.declare()
            declared.append(queue.name)
            for producer, key in stale_routes(spec):
                if producer in producers:
                    channel.queue_unbind(queue.name, f"{producer}.events", key)
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
