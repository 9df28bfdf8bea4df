"""Campaign send crash benchmark (issue 13, 14c), figures printed, nothing asserted.

A campaign of 20,000 recipients (BENCH_CRASH_RECIPIENTS) sent by the marketing service on PostgreSQL to the
SMTP sink; when the sink has half of them and half a batch more (mid-batch: BENCH_CRASH_AT), the service and its job worker process are killed with SIGKILL
(nothing of theirs runs after it). The service is started again: it resumes the job once the dead runner's
lease ends (crm_common.jobs.LEASE, 120 s). Then the messages each recipient got are counted at the sink:
the target is exactly one each (none twice, none missing), and the send log says how many messages the
resumed job presumed sent (handed over when the process died: send_log's rule 2).
"""
from __future__ import annotations

import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from marketing_send_common import Stack, seed, wait_job  # noqa: E402

N = int(os.environ.get("BENCH_CRASH_RECIPIENTS", "20000"))
# the kill: half way plus half a batch (CRM_SEND_BATCH, 500), so it lands while a batch is being handed over
# (messages between their mark and their "."), not in the pause between two batches, where the sink's
# count rests while a batch's outcomes are written
AT = int(os.environ.get("BENCH_CRASH_AT", str(N // 2 + 250)))


def main() -> int:
    stack = Stack()
    try:
        campaign_id, addresses = seed(stack.engine, N)
        stack.start_service()
        job = stack.call("send_campaign", {}, id=campaign_id)
        began = time.perf_counter()
        while stack.sink.count() < AT:
            if time.perf_counter() - began > 600:
                print("the send did not reach half way in 10 minutes")
                return 1
            time.sleep(0.02)
        pids = stack.service_pids()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        stack.proc.proc.wait()
        at_kill = stack.sink.count()
        print(f"logs under {stack.tmp}", flush=True)
        print(f"killed the service and its job worker (pids {pids}) with SIGKILL after {time.perf_counter() - began:.1f} s, "
              f"{at_kill} of {N} messages at the sink", flush=True)
        time.sleep(1)
        print(f"the sink has {stack.sink.count()} a second later (nothing more from a dead sender)", flush=True)
        restarted = time.perf_counter()
        stack.start_service()
        done = wait_job(stack, campaign_id, job["id"], timeout=900)
        print(f"restarted: the job resumed and ended {done['status']} {time.perf_counter() - restarted:.0f} s later "
              f"(the dead runner's lease is 120 s): sent {done['sent']}, failed {done['failed']}, "
              f"skipped {done['skipped']}", flush=True)
        if done["status"] != "done":
            print(f"the resumed job's error: {done.get('error')}")
            log = stack.proc.log_path.read_text(errors="replace")
            print("the service's log, last lines with an error:\n" + "\n".join(
                line for line in log.splitlines()[-400:] if "rror" in line or "xception" in line)[-4000:])
        with stack.engine.connect() as conn:
            from sqlalchemy import text
            presumed = conn.execute(text("SELECT count(*) FROM messages WHERE smtp_response LIKE 'presumed%'")).scalar()
            statuses = dict(conn.execute(text("SELECT status, count(*) FROM messages GROUP BY status")).all())
        counts = stack.sink.stop()
        got = Counter(counts.get(a, 0) for a in addresses)
        print(f"send log: {statuses}; presumed sent (handed over as the process died, not sent again): {presumed}")
        print("messages per recipient at the sink: " + ", ".join(f"{n} message(s): {k} recipients"
                                                             for n, k in sorted(got.items())))
        print(f"every recipient exactly one message: {'yes' if got == Counter({1: N}) else 'no'}")
    finally:
        stack.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
