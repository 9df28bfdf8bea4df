"""CPU seconds of this machine's processes from /proc (user and system time, and their reaped children's: the
14th to 17th fields of /proc/<pid>/stat), for the benchmarks' CPU per operation, which the load of a shared machine
disturbs less than wall clock: one process, the process groups of a run (a service, gunicorn's master and workers),
and the PostgreSQL backends serving a run's databases."""
from __future__ import annotations

import os
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command's name; None once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _seconds(fields: list[str]) -> float:
    """Its user and system time, and its children's that it has waited for: a gunicorn worker recycled after
    `max_requests` is gone from /proc, and its time is its master's from then on (without that, a round in which a
    worker was recycled counted less than nothing)."""
    return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / CLOCK_TICKS


def process_seconds(pid: int) -> float:
    """The CPU seconds a process has used so far; 0 once it is gone."""
    fields = _stat(pid)
    return 0.0 if fields is None else _seconds(fields)


def group_seconds(groups: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each process group ({name: process group id}), its processes alive now."""
    names = {pgid: name for name, pgid in groups.items()}
    totals = dict.fromkeys(groups, 0.0)
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat(entry.name)
            if fields is not None and int(fields[2]) in names:  # the third field after the name: its group
                totals[names[int(fields[2])]] += _seconds(fields)
    return totals


class Broker:
    """The RabbitMQ node on this machine (`beam.smp`): its CPU seconds so far, and the rate at which it uses CPU in
    quiet gaps, while nothing of a run's is running (`quiet`): other work on a shared broker."""

    def __init__(self, pid: int):
        self.pid = pid
        self.quiet_cpu = self.quiet_seconds = 0.0

    @classmethod
    def find(cls) -> Broker | None:
        """The node's process, None when the broker runs elsewhere."""
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    with open(f"/proc/{entry.name}/comm") as f:
                        if f.read().strip() == "beam.smp":
                            return cls(int(entry.name))
                except OSError:
                    continue
        return None

    def seconds(self) -> float:
        return process_seconds(self.pid)

    def quiet(self, seconds: float) -> None:
        """Wait `seconds`, counting what the broker uses meanwhile."""
        used, start = self.seconds(), time.monotonic()
        time.sleep(seconds)
        self.quiet_cpu += self.seconds() - used
        self.quiet_seconds += time.monotonic() - start

    def background(self) -> float:
        """CPU seconds a second in the quiet gaps so far."""
        return self.quiet_cpu / self.quiet_seconds if self.quiet_seconds else 0.0


class PgBackends:
    """CPU seconds used so far by the PostgreSQL backends connected to the run's databases (names starting with
    `prefix` and an underscore): each backend's from /proc, and what backends gone since used up to the read
    before."""

    def __init__(self, prefix: str, admin_dsn: str):
        import psycopg2
        self.prefix = prefix
        self.conn = psycopg2.connect(admin_dsn)
        self.conn.autocommit = True
        self.seen: dict[int, float] = {}
        self.gone = 0.0

    def seconds(self) -> float:
        with self.conn.cursor() as cur:
            cur.execute("SELECT pid FROM pg_stat_activity WHERE datname LIKE %s", (self.prefix + "\\_%",))
            pids = [pid for (pid,) in cur.fetchall()]
        now = {pid: _seconds(fields) for pid, fields in ((pid, _stat(pid)) for pid in pids) if fields is not None}
        self.gone += sum(last for pid, last in self.seen.items() if pid not in now)
        self.seen = now
        return self.gone + sum(now.values())

    def close(self) -> None:
        self.conn.close()
