"""A fast SMTP sink for the sending benchmarks (not a benchmark itself): accepts every message, keeps nothing
but how many each recipient got.

    python bench/smtp_sink.py --port 2525 --counts counts.json

A plain asyncio protocol (no aiosmtpd: its per-message cost would be what a benchmark measures). A message
counts once its DATA ends with "." and the sink answered 250, as a real server accepts it; a session cut
mid-DATA (a sender killed) counts nothing. `XCNT` answers `250 <messages so far>`; on SIGTERM the counts
per recipient are written to --counts (JSON) before it exits.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
from collections import Counter

COUNTS: Counter = Counter()
TOTAL = [0]
END = b"\r\n.\r\n"


class Session(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer, self.in_data, self.rcpts = transport, b"", False, []
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, chunk: bytes) -> None:
        self.buffer += chunk
        write = self.transport.write
        while True:
            if self.in_data:
                end = self.buffer.find(END)
                if end < 0:
                    return
                self.buffer = self.buffer[end + len(END):]
                self.in_data = False
                for rcpt in self.rcpts:
                    COUNTS[rcpt] += 1
                TOTAL[0] += 1
                self.rcpts = []
                write(b"250 2.0.0 accepted\r\n")
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return
            line, self.buffer = self.buffer[:end], self.buffer[end + 2:]
            verb = line[:4].upper()
            if verb == b"EHLO":
                write(b"250-sink\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 SMTPUTF8\r\n")
            elif verb == b"HELO":
                write(b"250 sink\r\n")
            elif verb == b"MAIL":
                self.rcpts = []
                write(b"250 2.1.0 ok\r\n")
            elif verb == b"RCPT":
                self.rcpts.append(line[line.index(b"<") + 1:line.rindex(b">")].decode("utf-8", "replace").lower())
                write(b"250 2.1.5 ok\r\n")
            elif verb == b"DATA":
                self.in_data = True
                self.buffer = b"\r\n" + self.buffer  # so a body's first line "." is found like any other
                write(b"354 go ahead\r\n")
            elif verb == b"RSET":
                self.rcpts = []
                write(b"250 ok\r\n")
            elif verb == b"NOOP":
                write(b"250 ok\r\n")
            elif verb == b"XCNT":
                write(b"250 %d\r\n" % TOTAL[0])
            elif verb == b"QUIT":
                write(b"221 bye\r\n")
                self.transport.close()
                return
            else:
                write(b"502 not here\r\n")


async def serve(port: int, counts_path: str | None) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Session, "127.0.0.1", port)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print(f"sink on {port}", flush=True)
    async with server:
        await stop.wait()
    if counts_path:
        with open(counts_path, "w") as out:
            json.dump(COUNTS, out)


def count(port: int) -> int:
    """Messages the sink on `port` accepted so far."""
    import smtplib
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        code, text = smtp.docmd("XCNT")
    return int(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--counts")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.counts))
