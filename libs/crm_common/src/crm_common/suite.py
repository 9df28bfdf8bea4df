"""Start the whole suite on one machine: `python -m crm_common.suite run` (what `make run` does); `... serve
<service>` runs one service as its container image does.

Checks the broker (and that no other suite runs on its vhost), makes the token keys, migrates every
database, declares every queue before any producer starts, seeds the administrator, then runs every
service and the gateway under one supervisor until Ctrl-C or SIGTERM, which stops everything it started.
A process that dies meanwhile is restarted with back-off (RESTART_DELAYS) while the others keep serving
(the gateway answers 503 for a service that is down).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request  # and urllib.error, which it imports
from pathlib import Path

from crm_common import config, suite_fork, suite_ready
from crm_common.ports import free_port
from crm_common.suite_serve import SERVICE_TARGETS, serve, service_command  # noqa: F401 (SERVICE_TARGETS: here too)

RESTART_DELAYS = (1, 2, 4, 8, 16, 30)  # seconds before each restart of a process that died; the last repeats
STABLE_AFTER = 60  # seconds up after which a restarted process's back-off starts again from the first delay
# glibc's malloc serves a block this large or larger from mmap and gives it back to the system when freed. Its
# default threshold moves up to the largest block freed: after one argon2 hash (19 MiB, identity's passwords)
# every later hash is served from the heap of the thread that runs it and kept there -- eventlet's 20 hashing
# threads held about 20 x 19 MiB in identity after a burst of logins (measured 469 MiB in 20 threads; 13 MiB
# with the threshold fixed). Set in the environment before the process starts (glibc reads it at start).
MALLOC_MMAP_THRESHOLD = str(4 * 1024 * 1024)
# What else every child gets unless the environment says otherwise (issue 18, item 10: the suite under 1 GB):
# - two malloc arenas instead of up to 8 per core: the gateway's 8 threads a worker and each service's pool of
#   OS threads (eventlet's tpool: argon2, DNS) each took an arena of its own that kept what it had once held;
# - one gateway worker of 16 threads (gunicorn.conf.py's default goes up to 4 workers by cores, compose and
#   Kubernetes run 2 a pod and scale by pods): each worker is a copy of the whole app, about 115 MiB, and builds
#   it at start (4 of them took 500 MiB and most of the CPU of a start on two cores);
CHILD_DEFAULTS = {"MALLOC_ARENA_MAX": "2", "CRM_GATEWAY_WORKERS": "1", "CRM_GATEWAY_THREADS": "16"}
# - no eventlet green DNS (dnspython: 230 modules, 8 to 15 MiB a process) in the services that resolve no name
#   but the broker's and the database's (resolved once, at connect); those that send mail (identity, analytics,
#   automation, marketing) or call webhooks (automation, integration) resolve other hosts and keep it, so a slow
#   resolver never blocks their event loop. With the fork server (the default, crm_common.suite_fork) every
#   service has the green DNS the server imported once, its pages shared: this applies with CRM_FORK_SERVER=off.
NO_GREEN_DNS = ("sales", "service_desk")


class Suite:
    def __init__(self, env: dict | None = None, root: Path | None = None, quiet: bool = False,
                 log_dir: Path | None = None, mail_port: int | None = None, metrics_base: int | None = None):
        self.root = root or Path.cwd()
        self.env = {**os.environ, **(env or {})}
        self.env.setdefault("CRM_VAR_DIR", str(self.root / "var"))
        key_dir = Path(self.env["CRM_VAR_DIR"]) / "keys"
        self.env.setdefault("CRM_JWT_PRIVATE_KEY_FILE", str(key_dir / "jwt_private.pem"))
        self.env.setdefault("CRM_JWT_PUBLIC_KEY_FILE", str(key_dir / "jwt_public.pem"))
        self.env.setdefault("CRM_DATA_KEY_FILE", str(key_dir / "data.key"))
        self.env.setdefault("CRM_BUS_KEY_FILE", str(key_dir / "bus.key"))
        self.port = int(self.env.get("CRM_PORT") or 8080)
        self.bind = self.env.get("CRM_BIND") or "127.0.0.1"
        self.quiet = quiet
        self.log_dir = Path(log_dir) if log_dir else None
        self.root = self.root if (self.root / "services").exists() else config.repo_root()
        self.procs: dict[str, subprocess.Popen] = {}
        # without CRM_SMTP_URL, mail goes to the local catcher (crm_common.mailcatcher): kept as .eml files
        self.mail_catcher = None if self.env.get("CRM_SMTP_URL") else (mail_port or free_port())
        if self.mail_catcher:
            self.env["CRM_SMTP_URL"] = f"smtp://127.0.0.1:{self.mail_catcher}"
            self.env.setdefault("CRM_MAIL_DIR", str(Path(self.env["CRM_VAR_DIR"]) / "mail"))
        self.broker_uris: dict[str, str] = {}  # process -> its own broker user's URI (see brokerusers)
        # each service serves its Prometheus metrics on a port of its own (the gateway at /metrics)
        self.metrics_ports = {name: (metrics_base + i if metrics_base else free_port())
                              for i, name in enumerate(SERVICE_TARGETS)}
        self._stopping = False
        self._started_at: dict[str, float] = {}  # process -> when it was last started (monotonic)
        self._restarts: dict[str, int] = {}  # process -> restarts in a row (reset once it stays up)
        self._restart_due: dict[str, float] = {}  # process that died -> when it starts again
        self.replica_of: dict[str, str] = {}  # an extra replica's process name ("sales#2") -> its service
        self._replica_env: dict[str, dict] = {}  # an extra replica -> its own settings (port, metrics port)
        # the services are forked from one process that imported their shared modules once (crm_common.suite_fork)
        self.forkserver: suite_fork.ForkServer | None = None

    # -- bootstrap -------------------------------------------------------------------------
    def python(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-W", "ignore", *args], env=self.env, cwd=self.root, check=check,
                              capture_output=True, text=True)

    def check_broker(self, timeout: float = 5) -> None:
        from kombu import Connection
        uri = self.env.get("AMQP_URI") or config.DEFAULT_AMQP_URI
        try:
            with Connection(uri, connect_timeout=timeout) as conn:
                conn.ensure_connection(max_retries=1, timeout=timeout)
        except Exception:
            raise SystemExit(f"error: RabbitMQ is not reachable at {config.redact_uri(uri)}. Start it "
                             "(e.g. `rabbitmq-server -detached`) or point AMQP_URI at a running broker.")
        self.check_alone(uri)

    def check_alone(self, uri: str) -> None:
        """Refuse to start beside another suite on the same vhost: its services would answer our RPCs and ours
        theirs (a login alternated 200 and 401 between two suites' identities)."""
        service = suite_ready.serving_suite(uri, SERVICE_TARGETS)
        if service:
            raise SystemExit(
                f"error: another CRM suite is running on {config.redact_uri(uri)} (its {service} answers "
                "there); stop it, or give this one a vhost of its own (AMQP_URI=amqp://.../<vhost>).")

    def make_broker_users(self) -> None:
        """One broker user per service and the gateway, on a broker of this machine reached as guest; their
        passwords are kept under var/keys/amqp. Elsewhere every process uses AMQP_URI as it is."""
        from crm_common import brokerusers
        uri = self.env.get("AMQP_URI") or config.DEFAULT_AMQP_URI
        if self.env.get("CRM_BROKER_USERS", "on") == "off" or not brokerusers.local_admin(uri):
            return
        directory = Path(self.env["CRM_VAR_DIR"]) / "keys" / "amqp"
        prefix = self.env.get("CRM_BROKER_USER_PREFIX") or brokerusers.default_prefix(uri)
        digest, uris = suite_ready.broker_users(uri, directory, prefix)
        if suite_ready.read_stamp(self.env).get("broker_users") == digest and suite_ready.users_connect(uris.values()):
            self.broker_uris, self.env["CRM_BROKER_USER_PREFIX"] = uris, prefix  # as the last start left them:
            return  # no rabbitmqctl (an Erlang VM started: 1.5 s and more of a second start)
        try:
            prefix, self.broker_uris = brokerusers.create(uri, directory, prefix)
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", "") or type(exc).__name__
            raise SystemExit(f"error: could not make the broker users with rabbitmqctl: {str(detail)[-500:]} "
                             "(or set CRM_BROKER_USERS=off to run every process as the AMQP_URI user)")
        self.env["CRM_BROKER_USER_PREFIX"] = prefix
        suite_ready.remember(self.env, "broker_users", digest)

    def remove_broker_users(self) -> None:
        from crm_common import brokerusers
        if self.broker_uris:
            brokerusers.delete(self.env["CRM_BROKER_USER_PREFIX"])

    def bootstrap(self) -> dict:
        """Broker users, keys, migrations, queues, admin -- in one child process, skipped when it would change
        nothing (crm_common.suite_ready: a second start). Returns what it printed."""
        self.check_broker()
        Path(self.env["CRM_VAR_DIR"]).mkdir(parents=True, exist_ok=True)
        self.make_broker_users()
        stale = suite_ready.to_migrate(self.env)
        admin = suite_ready.admin_digest(self.env)  # another administrator asked for: the seed runs
        if not stale and suite_ready.read_stamp(self.env).get("admin") == admin \
                and suite_ready.keys_present(self.env) and self._queues_declared():
            return {"output": "bootstrap skipped: keys, databases (at their revisions) and queues as the last start "
                              f"left them ({suite_ready.STAMP})", "skipped": True}
        out = self.python("-c", suite_ready.BOOTSTRAP, *stale, check=False)
        if out.returncode != 0:
            raise SystemExit(f"error: preparing the suite failed:\n{out.stderr[-3000:]}")
        suite_ready.write_stamp(self.env)
        suite_ready.remember(self.env, "admin", admin)
        return {"output": out.stdout.strip(), "skipped": False}

    def _queues_declared(self) -> bool:
        from kombu import Connection
        try:
            with Connection(self.env.get("AMQP_URI") or config.DEFAULT_AMQP_URI, connect_timeout=5) as conn:
                return suite_ready.queues_exist(conn, suite_ready.consumers(self.env))
        except Exception:  # noqa: BLE001 - in doubt, the bootstrap declares them
            return False

    # -- processes ---------------------------------------------------------------------------
    def commands(self) -> dict[str, list[str]]:
        """Every process's command in the order they start: the gateway, the longest to get ready, first."""
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        cmds = {"gateway": [gunicorn, "-c", str(self.root / "deploy" / "gunicorn.conf.py"),
                            "crm_console.wsgi:create_app()" if _has_console() else "crm_gateway.app:create_app()"]}
        if self.mail_catcher:
            cmds["mailcatcher"] = [sys.executable, "-m", "crm_common.mailcatcher", "--port", str(self.mail_catcher),
                                   "--dir", self.env["CRM_MAIL_DIR"]]
        for service in SERVICE_TARGETS:
            cmds[service] = service_command(service, self.root / "services" / service / "config.yaml")
        return cmds

    def start(self, only: list[str] | None = None) -> None:
        """Start every process (or those named in `only`, extra replicas included)."""
        env = {**CHILD_DEFAULTS, **self.env, "CRM_PORT": str(self.port), "CRM_BIND": self.bind,
               "PYTHONWARNINGS": "ignore",
               "MALLOC_MMAP_THRESHOLD_": self.env.get("MALLOC_MMAP_THRESHOLD_") or MALLOC_MMAP_THRESHOLD}
        cmds = self.commands()
        for name in (only or list(cmds)):
            base = self.replica_of.get(name, name)
            if base not in cmds:
                continue
            own = {"AMQP_URI": self.broker_uris[base]} if base in self.broker_uris else {}
            if base in self.metrics_ports:
                own["CRM_METRICS_PORT"] = str(self.metrics_ports[base])
            if base in NO_GREEN_DNS:
                own.setdefault("EVENTLET_NO_GREENDNS", self.env.get("EVENTLET_NO_GREENDNS") or "yes")
            own.update(self._replica_env.get(name, {}))
            if base in SERVICE_TARGETS and self.env.get("CRM_FORK_SERVER", "on") != "off":  # off: nameko run each
                if self.forkserver is None or not self.forkserver.alive:
                    self.forkserver = suite_fork.ForkServer(env, self.root)
                proc = self.forkserver.spawn(cmds[base][3:], {**env, **own}, self.root)  # what follows `-m nameko`
            else:
                proc = subprocess.Popen(cmds[base], env={**env, **own}, cwd=self.root, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, start_new_session=True)
            self.procs[name] = proc
            self._started_at[name] = time.monotonic()
            threading.Thread(target=self._pump, args=(name, proc), daemon=True).start()

    def add_replica(self, service: str, **env: str) -> str:
        """Start one more process of `service` (or of the gateway) beside the first: it consumes the same
        queues (competing consumers) with the same databases, and is supervised like the others. A service
        replica gets a metrics port of its own; a gateway replica listens on `CRM_PORT` when given, else on a
        free port. Returns the replica's process name (`sales#2`, ...)."""
        number = 2 + sum(1 for base in self.replica_of.values() if base == service)
        name = f"{service}#{number}"
        own = dict(env)
        if service in SERVICE_TARGETS:
            own.setdefault("CRM_METRICS_PORT", str(free_port()))
        elif service == "gateway":
            own.setdefault("CRM_PORT", str(free_port()))
        self.replica_of[name], self._replica_env[name] = service, own
        self.start(only=[name])
        return name

    def replica_setting(self, name: str, key: str) -> str | None:
        """A setting an extra replica was started with (its CRM_PORT, CRM_METRICS_PORT)."""
        return self._replica_env.get(name, {}).get(key)

    def stop_one(self, name: str, sig=signal.SIGTERM, timeout: float = 15) -> None:
        proc = self.procs.pop(name)
        _signal_group(proc, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()

    def _pump(self, name: str, proc: subprocess.Popen) -> None:
        log = None
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log = open(self.log_dir / f"{name}.log", "a", encoding="utf-8")
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode(errors="replace")
            if log:
                log.write(line)
                log.flush()
            if not self.quiet:
                sys.stdout.write(f"{name:>12} | {line}")
                sys.stdout.flush()
        if log:
            log.close()

    def wait_ready(self, timeout: float = 60) -> None:
        url = f"http://{self.bind}:{self.port}/readyz"
        deadline = time.time() + timeout
        while time.time() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode} while starting")
            try:
                with urllib.request.urlopen(url, timeout=3) as response:
                    if response.status == 200:
                        return
            except urllib.error.HTTPError as exc:  # 503 until every service answers; 429: polled too often
                wait = float(exc.headers.get("Retry-After") or 0.3) if exc.code == 429 else 0.3
                time.sleep(max(0.3, min(wait, deadline - time.time())))
            except Exception:  # not listening yet (refused: costs nothing to ask again soon)
                time.sleep(0.1)
        raise TimeoutError(f"the suite was not ready at {url} within {timeout:.0f} s")

    def stop(self, timeout: float = 15) -> None:
        self._stopping = True
        for proc in self.procs.values():
            if proc.poll() is None:
                _signal_group(proc, signal.SIGTERM)
        deadline = time.time() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        if self.forkserver is not None:
            self.forkserver.close()

    def supervise(self) -> int:
        """Keep every process running until SIGINT or SIGTERM; then stop everything. The handler only records
        the signal (taking no lock: a handler that waited on a lock the interrupted code held hung the stop)."""
        signalled: list[int] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, _frame: signalled.append(signum))
        self.watch(lambda: bool(signalled))
        print("\nstopping (signal received) ...", flush=True)
        self.stop()
        return 0

    def watch(self, stopping, poll: float = 0.5) -> None:
        """Until `stopping()`: a process that exits is started again after its back-off, and said so."""
        while not stopping() and not self._stopping:
            self.restart_exited()
            time.sleep(poll)

    def restart_exited(self) -> None:
        now = time.monotonic()
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:
                if now - self._started_at.get(name, now) > STABLE_AFTER:
                    self._restarts.pop(name, None)
                continue
            due = self._restart_due.get(name)
            count = self._restarts.get(name, 0)
            if due is None:
                delay = RESTART_DELAYS[min(count, len(RESTART_DELAYS) - 1)]
                self._restart_due[name] = now + delay
                self.say(f"{name} exited with {proc.returncode}; restarting it in {delay} s "
                         f"(restart {count + 1} in a row); the rest of the suite keeps serving")
            elif now >= due and not self._stopping:
                del self._restart_due[name]
                self._restarts[name] = count + 1
                try:
                    self.start(only=[name])
                except (OSError, RuntimeError) as exc:  # tried again after the next delay (still exited)
                    self.say(f"{name} could not be restarted: {exc}")
                    continue
                self.say(f"{name} restarted")

    def say(self, line: str) -> None:
        """A supervisor's line: on the console, and in the log folder's supervisor.log when there is one."""
        stamped = f"{time.strftime('%H:%M:%S')} supervisor | {line}"
        if not self.quiet:
            print(stamped, flush=True)
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            with open(self.log_dir / "supervisor.log", "a", encoding="utf-8") as log:
                log.write(stamped + "\n")


def _has_console() -> bool:
    """The web console (crm_console) shares the gateway's gunicorn and origin when it is installed."""
    import importlib.util
    return importlib.util.find_spec("crm_console") is not None


class Terminated(KeyboardInterrupt):
    """SIGTERM: a stop asked for by the system (kill, systemd, a container's stop), not an interruption."""


def _raise_terminated(*_):
    raise Terminated


def _signal_group(proc: subprocess.Popen, sig) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return  # the group has already exited: nothing left to signal


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        return serve(argv[1:])
    if argv[:1] != ["run"]:
        print("usage: python -m crm_common.suite run | serve [<service>]", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _raise_terminated)
    suite = Suite(mail_port=int(os.environ.get("CRM_MAIL_PORT") or 8025),
                  metrics_base=int(os.environ.get("CRM_METRICS_PORT_BASE") or 9101))
    started = time.time()
    try:
        info = suite.bootstrap()
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 1
    print(info["output"])
    try:
        suite.start()
        suite.wait_ready()
    except (RuntimeError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        suite.stop()
        return 1
    except KeyboardInterrupt as stop:  # Ctrl-C or SIGTERM while starting: stop what was started
        print("\nstopping ...", flush=True)
        suite.stop()
        return 0 if isinstance(stop, Terminated) else 130  # a stop asked for is a clean exit; Ctrl-C is 130
    print(f"\nCRM suite ready in {time.time() - started:.1f} s at http://{suite.bind}:{suite.port}"
          f"  (API /api/v1, docs /docs, OpenAPI /openapi.json). Ctrl-C stops it.", flush=True)
    if _has_console():
        print(f"console: open http://{suite.bind}:{suite.port}/ in a browser (sign in as the administrator)",
              flush=True)
    print(f"mail: caught at {suite.env['CRM_SMTP_URL']} and kept in {suite.env['CRM_MAIL_DIR']}/ as .eml files "
          "(set CRM_SMTP_URL to send through a real SMTP server)\n" if suite.mail_catcher else
          f"mail: sent through {config.redact_uri(suite.env['CRM_SMTP_URL'])}\n", flush=True)
    print("metrics (Prometheus): the gateway's at /metrics; " + ", ".join(
        f"{name} :{port}" for name, port in suite.metrics_ports.items()) + "\n", flush=True)
    return suite.supervise()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
