"""The sender's HTTP: a receiver that keeps connections alive gets the attempts over one connection (a
receiver that closes after each answer gets a new one each time), and every attempt is signed."""
from __future__ import annotations

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
