"""crm_common.httpclient against a server that closes kept-alive connections under a request, as gunicorn does
when its keepalive ends or a recycled worker lingers out: reads are sent again, writes never ride such a
connection and are never sent twice."""
import socket
import socketserver
import threading

import pytest
import requests

from crm_common import httpclient


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        server = self.server
        with server.lock:
            server.connections += 1
        served = 0
        while True:
            line = self.rfile.readline()
            if not line:
                return
            method = line.split(b" ", 1)[0].decode()
            length, close = 0, False
            while (header := self.rfile.readline()) not in (b"\r\n", b""):
                name, _, value = header.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                if name.lower() == "connection" and value.strip().lower() == "close":
                    close = True
            self.rfile.read(length)
            with server.lock:
                server.seen.append(method)
            if served >= 1 or method in server.drop:  # closed under the request, unanswered
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            served += 1
            body = b"{}"
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s"
                             % (len(body), b"Connection: close\r\n" if close else b"", body))
            if close:
                return


@pytest.fixture
def server():
    """Answers one request per connection and closes the next one on it unanswered (or any `drop` method)."""
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.lock, srv.seen, srv.connections, srv.drop = threading.Lock(), [], 0, set()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _url(srv):
    return f"http://127.0.0.1:{srv.server_address[1]}/api/v1/things"


def test_a_read_on_a_connection_closed_under_it_is_sent_again_and_answered(server):
    http = httpclient.pooled_session()
    assert httpclient.send(http, "GET", _url(server), timeout=5).status_code == 200
    # the second GET rides the kept-alive connection, which the server closes unanswered: sent again on a new one
    assert httpclient.send(http, "GET", _url(server), timeout=5).status_code == 200
    assert server.seen == ["GET", "GET", "GET"] and server.connections == 2


def test_a_plain_session_loses_that_read(server):
    """The race the module exists for: without it the same second read fails."""
    http = requests.Session()
    assert http.get(_url(server), timeout=5).status_code == 200
    with pytest.raises(requests.ConnectionError):
        http.get(_url(server), timeout=5)


def test_a_write_after_reads_goes_on_a_connection_of_its_own(server):
    http = httpclient.pooled_session()
    assert httpclient.send(http, "GET", _url(server), timeout=5).status_code == 200
    for method in ("POST", "PATCH", "PUT", "DELETE"):
        assert httpclient.send(http, method, _url(server), json={"name": "x"}, timeout=5).status_code == 200
    assert server.seen == ["GET", "POST", "PATCH", "PUT", "DELETE"] and server.connections == 5


def test_a_write_the_server_dropped_is_not_sent_twice(server):
    server.drop.add("POST")
    http = httpclient.pooled_session()
    with pytest.raises(requests.ConnectionError):
        httpclient.send(http, "POST", _url(server), json={"name": "x"}, timeout=5)
    assert server.seen == ["POST"]
