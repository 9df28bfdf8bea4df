"""Campaign send benchmark (issue 13, 14a), figures printed, nothing asserted.

100,000 recipients (BENCH_SEND_RECIPIENTS for a quick run), audience members inserted in one COPY, a
segment of all of them; the campaign sent through the real job of the marketing service (nameko on
PostgreSQL: the job runs in its worker process) to a fast SMTP sink in its own process: each message
personalised (Jinja2 sandbox), its links rewritten for click tracking, the open pixel, List-Unsubscribe and
List-Unsubscribe-Post, its send log row committed before the handoff and its handoff committed before the
final "." (send_job). Beside it, in the same run and to the same sink, a bare sender: one smtplib session
pushing pre-rendered messages (1,000 distinct ones, cycled over 100,000 recipients) with nothing else.
Target: the send at least half the bare sender's rate and above 100 mails/s (listmonk's default), the
service's memory flat (peak RSS of the service and its job worker at 10 %, 50 % and 100 %). The throttle
is set out of the way.
"""
from __future__ import annotations

import os
import smtplib
import socket
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from marketing_send_common import HTML, Stack, memory_kb, seed, wait_job  # noqa: E402

N = int(os.environ.get("BENCH_SEND_RECIPIENTS", "100000"))
DISTINCT = 1000


def prerendered(n: int) -> list[bytes]:
    """Messages as the job makes them (rendered, tracked, headers), made before the bare sender's clock starts."""
    from types import SimpleNamespace

    from crm_marketing.domain import compose, rendering
    template = SimpleNamespace(id="bare", version=1, subject="{{ contact.first_name }}, the spring range is here",
                               html=HTML, text=None)
    sender = compose.Sender("news@shop.example.com", "Shop News")
    made = []
    for i in range(n):
        mid = str(uuid.uuid4())
        recipient = {"contact": {"first_name": f"First{i}", "last_name": f"Last{i}"}, "account": {"name": "Co"},
                     "campaign": {}, "unsubscribe_url": compose.unsubscribe_url(mid)}
        made.append(compose.compose(rendering.render(template, recipient), message_id=mid,
                                    to=f"bare{i}@bare.example", sender=sender).data)
    return made


def bare_sender(port: int, n: int, messages: list[bytes]) -> float:
    smtp = smtplib.SMTP("127.0.0.1", port)
    smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    began = time.perf_counter()
    for i in range(n):
        smtp.sendmail("news@shop.example.com", [f"bare{i}@bare.example"], messages[i % len(messages)])
    elapsed = time.perf_counter() - began
    smtp.quit()
    return n / elapsed


def seconds(job: dict) -> float:
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(job["finished_at"]) - parse(job["started_at"])).total_seconds()


def main() -> int:
    stack = Stack()
    try:
        began = time.perf_counter()
        campaign_id, addresses = seed(stack.engine, N)
        print(f"{N} audience members seeded in {time.perf_counter() - began:.1f} s", flush=True)
        base = bare_sender(stack.sink.port, N, prerendered(DISTINCT))
        print(f"{'bare sender (pre-rendered, one session)':<44} {base:>9.0f} mails/s", flush=True)

        stack.start_service()
        marks, seen = {}, {}

        def on_progress(job):
            done = job["sent"] + job["failed"] + job["skipped"]
            pids = stack.service_pids()
            rss = sum(memory_kb(pid)[0] for pid in pids)
            peak = sum(memory_kb(pid)[1] for pid in pids)
            seen["peak"] = max(seen.get("peak", 0), peak)
            for pct in (10, 50, 100):
                if pct not in marks and job["total"] and done >= job["total"] * pct / 100:
                    marks[pct] = (rss, seen["peak"], done)

        requested = time.perf_counter()
        job = stack.call("send_campaign", {}, id=campaign_id)
        done = wait_job(stack, campaign_id, job["id"], on_progress)
        wall = time.perf_counter() - requested
        if done["status"] != "done":
            print(f"the send ended {done['status']}: {done}")
            return 1
        rate, job_rate = N / wall, N / seconds(done)
        print(f"{'campaign send, request to job done':<44} {rate:>9.0f} mails/s  ({wall:.1f} s; the job itself "
              f"{job_rate:.0f} mails/s)", flush=True)
        for pct, (rss, peak, at) in sorted(marks.items()):
            print(f"  service + job worker at {pct:>3} % ({at:>6} handled): RSS {rss / 1024:6.0f} MB, peak so far "
                  f"{peak / 1024:6.0f} MB")
        counts = stack.sink.stop()
        campaign_counts = [counts.get(a, 0) for a in addresses]
        print(f"sink: {sum(campaign_counts)} campaign messages, {sum(1 for c in campaign_counts if c == 1)} of {N} "
              f"recipients with exactly one, {sum(1 for c in campaign_counts if c > 1)} with more, "
              f"{sum(1 for c in campaign_counts if c == 0)} with none")
        print(f"send vs bare sender: {rate / base:.2f} (job alone {job_rate / base:.2f}); target 0.5: "
              f"{'met' if rate / base >= 0.5 else 'not met'}; above 100 mails/s: {'yes' if rate > 100 else 'no'}")
    finally:
        stack.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
