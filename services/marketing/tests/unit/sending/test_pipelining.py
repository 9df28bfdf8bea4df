"""The handoff to a server that offers PIPELINING (RFC 2920): MAIL FROM, RCPT TO and DATA in one write, their
answers read after; a refusal is still the command's that failed, and the session goes on."""
from __future__ import annotations

import socketserver
import threading

import pytest

from crm_common import mail

REFUSED = "nobody@example.com"


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        server, out, rcpts = self.server, self.wfile, []
        out.write(b"220 test ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            server.seen.append(line.strip().decode())
            if verb == b"EHLO":
                out.write(b"250-test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif verb == b"MAIL":
                rcpts = []
                out.write(b"250 ok\r\n")
            elif verb == b"RCPT":
                address = line.decode().split("<", 1)[1].split(">", 1)[0]
                if address == REFUSED:
                    out.write(b"550 5.1.1 no such user\r\n")
                else:
                    rcpts.append(address)
                    out.write(b"250 ok\r\n")
            elif verb == b"DATA":
                if not rcpts:
                    out.write(b"554 no valid recipients\r\n")
                    continue
                out.write(b"354 go ahead\r\n")
                body = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    body += chunk
                server.delivered += [(address, body) for address in rcpts]
                out.write(b"250 accepted\r\n")
            elif verb == b"RSET":
                rcpts = []
                out.write(b"250 ok\r\n")
            elif verb == b"QUIT":
                out.write(b"221 bye\r\n")
                return
            else:
                out.write(b"502 no\r\n")


@pytest.fixture
def server():
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads, srv.seen, srv.delivered = True, [], []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_messages_go_over_a_pipelining_server_and_a_refusal_names_its_command(server):
    account = mail.SmtpAccount.from_url(f"smtp://127.0.0.1:{server.server_address[1]}")
    marks = []
    with mail.Connection(account) as smtp:
        smtp.send_bytes(b"Subject: one\r\n\r\nfirst\r\n", "news@example.com", "ada@example.com",
                        before_end=lambda: marks.append("ada"))
        with pytest.raises(mail.Refused) as refused:
            smtp.send_bytes(b"Subject: two\r\n\r\nsecond\r\n", "news@example.com", REFUSED,
                            before_end=lambda: marks.append("refused"))
        smtp.send_bytes(b"Subject: three\r\n\r\n.dot\r\n", "news@example.com", "bob@example.com",
                        before_end=lambda: marks.append("bob"))
    assert refused.value.code == 550 and refused.value.permanent and "no such user" in refused.value.response
    assert marks == ["ada", "bob"]  # no handoff mark for a message refused before its DATA
    assert server.delivered == [("ada@example.com", b"Subject: one\r\n\r\nfirst\r\n"),
                                ("bob@example.com", b"Subject: three\r\n\r\n..dot\r\n")]
    assert "rset" in [line.lower() for line in server.seen]
