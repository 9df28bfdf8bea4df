"""A fork server for `make run`'s services (issue 18, item 10: a second start ready in under 5 s).

Every service process used to pay the same imports before its own: the interpreter, eventlet, nameko, kombu,
SQLAlchemy, marshmallow, prometheus_client and crm_common's kernel -- about 0.5 s of CPU of each service's 0.8 s,
seven times, on a machine of two cores. The fork server (`python -m crm_common.suite_fork <fd>`, started by the
supervisor, crm_common.suite) monkey-patches with eventlet as nameko's `run` command does, imports those shared
modules once (PRELOAD: the modules every service imports, nothing of any one service), and then forks a process
for each service it is asked for. The child runs exactly what `python -m nameko run <class> --config <file>`
runs (nameko.cli.main) with the environment the supervisor sent, in a session of its own (its pid leads its
process group, as a process started with `start_new_session` does), its output on the pipe the supervisor
sent. Copy-on-write shares the pages of the common imports between the services. What a preloaded module reads
from the environment at import is the server's (the supervisor's common settings); what differs per service (its
broker user's AMQP_URI, CRM_METRICS_PORT, a replica's settings) is read when the service runs. EVENTLET_NO_GREENDNS
cannot differ: eventlet is imported once, with its green DNS unless the server's environment says otherwise.

The protocol, on one SOCK_SEQPACKET pair (one message a datagram, JSON):
  supervisor -> server  {"id": n, "argv": [...], "env": {...}, "cwd": ...} with the write end of a pipe as fd
  server -> supervisor  {"id": n, "pid": pid} (or {"id": n, "error": "..."});
                        {"exit": pid, "code": c} when a child exits (c as Popen's returncode: -9 for SIGKILL).
The server reaps its children and says so; when the supervisor goes away (the socket closes) it stops the
children still running (SIGTERM to their groups, SIGKILL after STOP_GRACE) and exits, so nothing outlives it.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

# the server's own loop uses these as they are before eventlet patches them (a green call would make the eventlet
# hub in the server, whose epoll every child would then share)
_select, _waitpid, _read, _sleep, _recv_fds = select.select, os.waitpid, os.read, time.sleep, socket.recv_fds
MAX_MESSAGE = 1 << 20
STOP_GRACE = 10.0
# what every service imports before its own modules (measured: the intersection of the seven services' imports)
PRELOAD = (
    "nameko.cli.main", "nameko.cli.commands", "nameko.cli.run", "nameko.runners", "nameko.rpc",
    "nameko.messaging", "nameko.timer", "kombu", "amqp", "yaml", "logging.config", "sqlalchemy", "sqlalchemy.orm",
    "sqlalchemy.dialects.sqlite", "sqlalchemy.dialects.postgresql", "psycopg2", "marshmallow", "prometheus_client",
    "crm_common.service_base", "crm_common.entrypoint", "crm_common.stream", "crm_common.dependencies",
    "crm_common.jobs", "crm_common.inbox", "crm_common.outbox", "crm_common.bulk", "crm_common.paging",
    "crm_common.versioning", "crm_common.topology", "crm_common.logs", "crm_common.contracts.platform",
    "crm_common.contracts.records", "crm_common.contracts.schemas",
)


# -- the server (its own process) -----------------------------------------------------------------

def serve(control: socket.socket) -> None:
    """Answer spawn requests on `control` until it closes; report each child's exit."""
    children: set[int] = set()
    while True:
        try:
            readable, _, _ = _select([control], [], [], 0.2)
        except InterruptedError:
            readable = []
        if readable:
            try:
                data, fds, _, _ = _recv_fds(control, MAX_MESSAGE, 1)
            except OSError:
                data, fds = b"", []
            if not data:  # the supervisor is gone
                _stop_children(children, control)
                return
            request = json.loads(data)
            reply = {"id": request["id"]}
            try:
                reply["pid"] = _spawn(request, fds[0], control)
                children.add(reply["pid"])
            except Exception as exc:  # noqa: BLE001 - said to the supervisor, which reports it
                reply["error"] = f"{type(exc).__name__}: {exc}"
            finally:
                for fd in fds:
                    os.close(fd)
            _say(control, reply)
        for pid, code in _reap():
            children.discard(pid)
            _say(control, {"exit": pid, "code": code})


def _reap():
    while True:
        try:
            pid, status = _waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, os.waitstatus_to_exitcode(status)


def _stop_children(children: set[int], control: socket.socket) -> None:
    """SIGTERM to every child's group, SIGKILL to those still running after STOP_GRACE; each exit reported."""
    for pid in children:
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    while children:
        if time.monotonic() > deadline:
            for pid in children:
                _signal_group(pid, signal.SIGKILL)
            deadline = float("inf")
        for pid, code in _reap():
            children.discard(pid)
            _say(control, {"exit": pid, "code": code})
        _sleep(0.05)


def _say(control: socket.socket, message: dict) -> None:
    try:
        control.send(json.dumps(message).encode())
    except OSError:  # the supervisor has gone: nobody to tell
        pass


def _signal_group(pid: int, sig) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _spawn(request: dict, out_fd: int, control: socket.socket) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    ready_read, ready_write = os.pipe()  # the child says when it leads its session (as Popen returns after setsid)
    pid = os.fork()
    if pid:
        os.close(ready_write)
        try:
            _read(ready_read, 1)
        finally:
            os.close(ready_read)
        return pid
    code = 1
    try:  # the child: never returns into the server's loop
        control.close()
        os.setsid()
        os.close(ready_read)
        os.close(ready_write)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.close(null)
        os.close(out_fd)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as a new interpreter has them
        for sig in (signal.SIGTERM, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        _drop_hub()  # its eventlet hub is made anew at first use: none is shared with the server or another child
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        code = _run(request["argv"])
    except BaseException:  # noqa: BLE001 - the child's own failure, on its own output
        import traceback
        traceback.print_exc()
    finally:
        import atexit
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code)


def _drop_hub() -> None:
    """Forget this process's eventlet hub (made by monkey_patch), closing its epoll: a forked child that used the
    server's would share one kernel epoll instance with the server and every other child."""
    from eventlet import hubs
    hub = getattr(hubs._threadlocal, "hub", None)
    if hub is not None:
        poll = getattr(hub, "poll", None)
        if hasattr(poll, "close"):
            poll.close()
        hubs.use_hub()


def _run(argv: list[str]) -> int:
    """What `python -m nameko <argv>` runs, with its exit status."""
    import nameko.cli.main
    sys.argv = ["nameko", *argv]
    try:
        nameko.cli.main.main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def main(argv: list[str]) -> int:
    control = socket.socket(fileno=int(argv[0]))  # made before eventlet patches the socket module
    import eventlet
    eventlet.monkey_patch()  # as nameko's `run` command does, before any other import (nameko.cli.commands)
    import importlib
    for name in PRELOAD:
        importlib.import_module(name)
    import gc
    gc.collect()
    gc.freeze()  # the shared imports stay out of the children's collections: their pages stay shared
    _drop_hub()
    serve(control)
    return 0


# -- the supervisor's side ----------------------------------------------------------------------

class Forked:
    """A process the fork server started, as the supervisor uses a Popen: pid, stdout, poll, wait, returncode."""

    def __init__(self, pid: int, stdout):
        self.pid, self.stdout, self.returncode = pid, stdout, None
        self._exited = threading.Event()

    def poll(self):
        return self.returncode

    def wait(self, timeout: float | None = None):
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired(f"process {self.pid}", timeout)
        return self.returncode

    def _exit(self, code: int) -> None:
        self.returncode = code
        self._exited.set()


class ForkServer:
    """The supervisor's end of a fork server (started with `env` in `cwd`)."""

    def __init__(self, env: dict, cwd, python: str = sys.executable):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = subprocess.Popen([python, "-W", "ignore", "-m", "crm_common.suite_fork", str(theirs.fileno())],
                                     env=env, cwd=cwd, pass_fds=[theirs.fileno()], start_new_session=True)
        theirs.close()
        self._control = ours
        self._lock = threading.Lock()
        self._next = 0
        self._replies: dict[int, dict] = {}
        self._replied = threading.Condition(self._lock)
        self._children: dict[int, Forked] = {}
        self._early: dict[int, int] = {}  # exits reported before the spawn's reply was handled
        self.alive = True
        threading.Thread(target=self._read, daemon=True, name="forkserver").start()

    def spawn(self, argv: list[str], env: dict, cwd, timeout: float = 60) -> Forked:
        read_end, write_end = os.pipe()
        try:
            with self._lock:
                if not self.alive:
                    raise RuntimeError("the fork server has exited")
                self._next += 1
                ident = self._next
                socket.send_fds(self._control, [json.dumps({"id": ident, "argv": argv, "env": env,
                                                            "cwd": str(cwd)}).encode()], [write_end])
                if not self._replied.wait_for(lambda: ident in self._replies or not self.alive, timeout):
                    raise RuntimeError(f"the fork server did not answer within {timeout:.0f} s")
                reply = self._replies.pop(ident, None)
                if reply is None:
                    raise RuntimeError("the fork server has exited")
                if "error" in reply:
                    raise RuntimeError(f"the fork server could not start {argv}: {reply['error']}")
                child = Forked(reply["pid"], os.fdopen(read_end, "rb"))
                self._children[child.pid] = child
                if child.pid in self._early:
                    child._exit(self._early.pop(child.pid))
                return child
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)

    def _read(self) -> None:
        while True:
            try:
                data = self._control.recv(MAX_MESSAGE)
            except OSError:
                data = b""
            with self._lock:
                if not data:
                    self._lost()
                    return
                message = json.loads(data)
                if "exit" in message:
                    child = self._children.pop(message["exit"], None)
                    if child is None:
                        self._early[message["exit"]] = message["code"]
                    else:
                        child._exit(message["code"])
                else:
                    self._replies[message["id"]] = message
                    self._replied.notify_all()

    def _lost(self) -> None:
        """The server died: its children are killed and reported dead, so the supervisor starts them again
        (through a new server)."""
        self.alive = False
        for pid, child in self._children.items():
            _signal_group(pid, signal.SIGKILL)
            child._exit(-signal.SIGKILL)
        self._children.clear()
        self._replied.notify_all()

    def close(self, timeout: float = 15) -> None:
        """Stop the server (and, through it, any child still running)."""
        try:
            self._control.shutdown(socket.SHUT_WR)  # the server sees the end, stops its children, says so
        except OSError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._control.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
