"""Acks and requeues over a connection the broker has just dropped.

nameko's QueueConsumer skips an ack when the message's connection is gone, and ignores amqp's
ConnectionError, but not the socket's own errors (ConnectionResetError, BrokenPipeError) raised when the
broker went away between the check and the write. Raised from a worker's result handling, they stop the
whole service: nameko kills the container on an error outside the worker's method (seen on a broker
restart under load). The broker gives an unacknowledged message back to the queue when the connection
closes; the inbox makes its second delivery a no-op. Imported by crm_common.rpc, so by every service.
"""
from __future__ import annotations

import logging

from nameko.messaging import QueueConsumer

log = logging.getLogger(__name__)
_ack, _requeue = QueueConsumer.ack_message, QueueConsumer.requeue_message


def _tolerant(settle, what: str):
    def settled(self, message):
        try:
            settle(self, message)
        except OSError as exc:  # the socket closed under us: the broker redelivers the message
            log.warning("could not %s a message (%s): the broker delivers it again", what, type(exc).__name__)
    settled.__name__ = settle.__name__
    return settled


QueueConsumer.ack_message = _tolerant(_ack, "acknowledge")
QueueConsumer.requeue_message = _tolerant(_requeue, "requeue")
