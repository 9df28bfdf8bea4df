"""The sender's HTTP: a receiver that keeps connections alive gets the attempts over one connection (a
receiver that closes after each answer gets a new one each time), and every attempt is signed."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook as Verifier

from crm_integration import sender
from crm_integration.domain import deliveries, signing


def receiver(protocol: str):
    seen = {"connections": set(), "bodies": []}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = protocol

        def do_POST(self):  # noqa: N802 - http.server's name
            seen["connections"].add(self.client_address[1])
            seen["bodies"].append(({k.lower(): v for k, v in self.headers.items()},
                                   self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


@pytest.mark.parametrize("protocol,connections", [("HTTP/1.1", 1), ("HTTP/1.0", 3)])
def test_attempts_to_one_receiver_reuse_a_kept_alive_connection(monkeypatch, protocol, connections):
    server, seen = receiver(protocol)
    port = server.server_address[1]
    monkeypatch.setenv("CRM_WEBHOOK_ALLOW_HOSTS", f"127.0.0.1:{port}")
    secret = signing.new_secret()
    pool = sender.Connections()
    try:
        answers = [sender.send(deliveries.Job(f"msg_{n}", f"http://127.0.0.1:{port}/in", "standard", (secret,),
                                              {"event_id": f"e{n}", "type": "sales.lead_created.v1",
                                               "occurred_at": "2026-12-04T10:00:00Z", "data": {"id": str(n)}}),
                               timeout=5, pool=pool) for n in range(3)]
    finally:
        server.shutdown()
        server.server_close()
    assert [a.code for a in answers] == [204, 204, 204]
    assert len(seen["connections"]) == connections
    for headers, body in seen["bodies"]:
        Verifier(secret).verify(body, headers)


def raw_receiver(answers: list[bytes]):
    """A receiver that answers each request read with the next raw bytes of `answers` (then closes when the
    answers run out); records each request's head and body."""
    import socket
    seen = {"requests": [], "connections": 0}
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def serve():
        while answers:
            conn, _ = server.accept()
            seen["connections"] += 1
            reader = conn.makefile("rb")
            try:
                while answers:
                    head = b""
                    while not head.endswith(b"\r\n\r\n"):
                        line = reader.readline()
                        if not line:
                            break
                        head += line
                    if not head:
                        break
                    length = int([v for k, _, v in (h.partition(b":") for h in head.split(b"\r\n"))
                                  if k.lower() == b"content-length"][0])
                    seen["requests"].append((head, reader.read(length)))
                    conn.sendall(answers.pop(0))
            except OSError:  # the sender closed without reading a long answer
                pass
            reader.close()
            conn.close()
        server.close()
    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1], seen


def attempt(port, pool, n=0, path="/in?x=1"):
    return sender.send(deliveries.Job(f"msg_{n}", f"http://127.0.0.1:{port}{path}", "standard", (signing.new_secret(),),
                                      {"event_id": f"e{n}", "type": "sales.lead_created.v1",
                                       "occurred_at": "2026-12-04T10:00:00Z", "data": {"id": str(n)}}),
                       timeout=5, pool=pool)


def test_answers_are_read_whole_chunked_or_by_length_and_the_connection_reused(monkeypatch):
    port, seen = raw_receiver([
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
        b"HTTP/1.1 429 Too Many\r\nRetry-After: 120\r\nContent-Length: 5\r\n\r\nslow!",
        b"HTTP/1.1 410 Gone\r\ncontent-length: 0\r\n\r\n"])
    monkeypatch.setenv("CRM_WEBHOOK_ALLOW_HOSTS", f"127.0.0.1:{port}")
    pool = sender.Connections()
    answers = [attempt(port, pool, n) for n in range(3)]
    assert [(a.code, a.retry_after, a.error) for a in answers] == [(200, None, None), (429, "120", None),
                                                                   (410, None, None)]
    assert seen["connections"] == 1
    head, body = seen["requests"][0]
    assert head.startswith(b"POST /in?x=1 HTTP/1.1\r\n") and f"Host: 127.0.0.1:{port}\r\n".encode() in head
    assert json.loads(body)["event_id"] == "e0"


def test_a_connection_is_not_reused_after_close_a_long_body_or_an_http_1_0_answer(monkeypatch):
    big = 200 * 1024
    port, seen = raw_receiver([
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n" % big + b"x" * big,
        b"HTTP/1.0 204 No Content\r\n\r\n",
        b"HTTP/1.1 503 Busy\r\nRetry-After: Wed, 21 Oct 2026 07:28:00 GMT\r\n\r\nto the end"])
    monkeypatch.setenv("CRM_WEBHOOK_ALLOW_HOSTS", f"127.0.0.1:{port}")
    pool = sender.Connections()
    answers = [attempt(port, pool, n) for n in range(4)]
    assert [a.code for a in answers] == [200, 500, 204, 503]
    assert answers[3].retry_after == "Wed, 21 Oct 2026 07:28:00 GMT"
    assert seen["connections"] == 4


def test_a_broken_answer_or_a_path_with_a_control_character_is_a_failed_attempt(monkeypatch):
    port, seen = raw_receiver([b"SMTP ready\r\n\r\n"])
    monkeypatch.setenv("CRM_WEBHOOK_ALLOW_HOSTS", f"127.0.0.1:{port}")
    answer = attempt(port, sender.Connections())
    assert answer.code is None and answer.error == "BadAnswer"
    assert attempt(port, sender.Connections(), path="/in%20x y").code is None


def test_a_round_left_open_by_a_lost_transaction_does_not_stop_the_sender():
    import time
    rounds = []
    loop = sender.SendLoop(lambda fn, *args: rounds.append(fn) or [], 5)
    loop.round_open = time.monotonic()  # a consumer's transaction holds the round: none of the loop's own
    loop.tick()
    assert rounds == []
    loop.round_open = time.monotonic() - sender.STUCK_ROUND - 1  # never committed nor rolled back
    loop.tick()
    assert len(rounds) == 1 and not loop.in_round
