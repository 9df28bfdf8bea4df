"""Stand-in consumers for the services a benchmark does not run: takes every message of the given queues and
acks it, as those services' consumers would (bench_gateway_paths, BENCH_ABSENT_CONSUMERS=drain). One process,
one connection, prefetch 500, acks of many at once; runs until killed.

    python bench/drain_queues.py amqp://... queue [queue ...]
"""
from __future__ import annotations

import socket
import sys

from kombu import Connection, Consumer, Queue

PREFETCH = 500
ACK_EVERY = 100


def main(uri: str, names: list[str]) -> int:
    with Connection(uri) as conn:
        channel = conn.channel()
        channel.basic_qos(0, PREFETCH, False)
        unacked = []

        def on_message(body, message):
            unacked.append(message.delivery_tag)
            if len(unacked) >= ACK_EVERY:
                channel.basic_ack(unacked[-1], multiple=True)
                unacked.clear()

        queues = [Queue(name, channel=channel, no_declare=True) for name in names]
        with Consumer(channel, queues=queues, callbacks=[on_message], no_ack=False, accept=None):
            while True:
                try:
                    conn.drain_events(timeout=0.2)
                except socket.timeout:
                    if unacked:  # a quiet moment: what is held is acked
                        channel.basic_ack(unacked[-1], multiple=True)
                        unacked.clear()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
