"""Start the whole suite on one machine: `python -m crm_common.suite run` (what `make run` does).

Checks the broker, makes the token keys, migrates every database, declares every queue before any
producer starts, seeds the administrator, then runs every service and the gateway under one
supervisor until Ctrl-C or SIGTERM, which stops everything it started.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from crm_common import config

# nameko run needs the class named: the module also holds the kernel's base class, which has entrypoints
SERVICE_TARGETS = {
    "identity": "crm_identity.service:IdentityService",
    "sales": "crm_sales.service:SalesService",
    "service_desk": "crm_service_desk.service:ServiceDeskService",
    "marketing": "crm_marketing.service:MarketingService",
    "analytics": "crm_analytics.service:AnalyticsService",
}


class Suite:
    def __init__(self, env: dict | None = None, root: Path | None = None, quiet: bool = False,
                 log_dir: Path | None = None, mail_port: int | None = None):
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
        # without CRM_SMTP_URL, mail goes to the local catcher (crm_marketing.mailcatcher): kept as .eml files
        self.mail_catcher = None if self.env.get("CRM_SMTP_URL") else (mail_port or _free_port())
        if self.mail_catcher:
            self.env["CRM_SMTP_URL"] = f"smtp://127.0.0.1:{self.mail_catcher}"
            self.env.setdefault("CRM_MAIL_DIR", str(Path(self.env["CRM_VAR_DIR"]) / "mail"))
        self.broker_uris: dict[str, str] = {}  # process -> its own broker user's URI (see brokerusers)
        self._stopping = False

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

    def make_broker_users(self) -> None:
        """One broker user per service and the gateway, on a broker of this machine reached as guest; their
        passwords are kept under var/keys/amqp. Elsewhere every process uses AMQP_URI as it is."""
        from crm_common import brokerusers
        uri = self.env.get("AMQP_URI") or config.DEFAULT_AMQP_URI
        if self.env.get("CRM_BROKER_USERS", "on") == "off" or not brokerusers.local_admin(uri):
            return
        try:
            prefix, self.broker_uris = brokerusers.create(uri, Path(self.env["CRM_VAR_DIR"]) / "keys" / "amqp",
                                                          self.env.get("CRM_BROKER_USER_PREFIX"))
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", "") or type(exc).__name__
            raise SystemExit(f"error: could not make the broker users with rabbitmqctl: {str(detail)[-500:]} "
                             "(or set CRM_BROKER_USERS=off to run every process as the AMQP_URI user)")
        self.env["CRM_BROKER_USER_PREFIX"] = prefix

    def remove_broker_users(self) -> None:
        from crm_common import brokerusers
        if self.broker_uris:
            brokerusers.delete(self.env["CRM_BROKER_USER_PREFIX"])

    def bootstrap(self) -> dict:
        """Broker users, keys, migrations, queues, admin -- in one child process. Returns what it printed."""
        self.check_broker()
        Path(self.env["CRM_VAR_DIR"]).mkdir(parents=True, exist_ok=True)
        self.make_broker_users()
        out = self.python("-c", _BOOTSTRAP, check=False)
        if out.returncode != 0:
            raise SystemExit(f"error: preparing the suite failed:\n{out.stderr[-3000:]}")
        return {"output": out.stdout.strip()}

    # -- processes ---------------------------------------------------------------------------
    def commands(self) -> dict[str, list[str]]:
        cmds = {}
        for service, target in SERVICE_TARGETS.items():
            cmds[service] = [sys.executable, "-m", "nameko", "run", target, "--config",
                             str(self.root / "services" / service / "config.yaml")]
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        if self.mail_catcher:
            cmds["mailcatcher"] = [sys.executable, "-m", "crm_marketing.mailcatcher", "--port", str(self.mail_catcher),
                                   "--dir", self.env["CRM_MAIL_DIR"]]
        cmds["gateway"] = [gunicorn, "-c", str(self.root / "deploy" / "gunicorn.conf.py"),
                           "crm_gateway.app:create_app()"]
        return cmds

    def start(self, only: list[str] | None = None) -> None:
        env = {**self.env, "CRM_PORT": str(self.port), "CRM_BIND": self.bind, "PYTHONWARNINGS": "ignore"}
        for name, cmd in self.commands().items():
            if only and name not in only:
                continue
            own = {"AMQP_URI": self.broker_uris[name]} if name in self.broker_uris else {}
            proc = subprocess.Popen(cmd, env={**env, **own}, cwd=self.root, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            self.procs[name] = proc
            threading.Thread(target=self._pump, args=(name, proc), daemon=True).start()

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
            except Exception:
                time.sleep(0.3)
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

    def supervise(self) -> int:
        """Block until a signal or a child exits; then stop everything."""
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        exited = None
        while not stop.is_set():
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    exited = name
                    stop.set()
            stop.wait(0.5)
        print(f"\nstopping ({exited + ' exited' if exited else 'signal received'}) ...", flush=True)
        self.stop()
        return 1 if exited else 0


def _free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _raise_interrupt(*_):
    raise KeyboardInterrupt


def _signal_group(proc: subprocess.Popen, sig) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return  # the group has already exited: nothing left to signal


_BOOTSTRAP = """
import os, sys
from pathlib import Path
from crm_common import callers, config, migrate, secretbox, topology
from crm_identity import keys, seed_admin
keys.generate(Path(os.environ["CRM_JWT_PRIVATE_KEY_FILE"]).parent)
secretbox.generate_key_file(Path(os.environ["CRM_DATA_KEY_FILE"]))
callers.generate_key_file(Path(os.environ["CRM_BUS_KEY_FILE"]))
for name in config.SERVICES + ("gateway",):
    migrate.upgrade(name)
print("migrated:", ", ".join(config.SERVICES + ("gateway",)))
print("declared", len(topology.declare()), "queues")
sys.exit(seed_admin.main())
"""


def main(argv: list[str]) -> int:
    if argv[:1] != ["run"]:
        print("usage: python -m crm_common.suite run", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _raise_interrupt)
    suite = Suite(mail_port=int(os.environ.get("CRM_MAIL_PORT") or 8025))
    started = time.time()
    try:
        info = suite.bootstrap()
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 1
    print(info["output"])
    suite.start()
    try:
        suite.wait_ready()
    except (RuntimeError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        suite.stop()
        return 1
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM) while starting: stop what was started
        print("\nstopping ...", flush=True)
        suite.stop()
        return 130
    print(f"\nCRM suite ready in {time.time() - started:.1f} s at http://{suite.bind}:{suite.port}"
          f"  (API /api/v1, docs /docs, OpenAPI /openapi.json). Ctrl-C stops it.", flush=True)
    print(f"mail: caught at {suite.env['CRM_SMTP_URL']} and kept in {suite.env['CRM_MAIL_DIR']}/ as .eml files "
          "(set CRM_SMTP_URL to send through a real SMTP server)\n" if suite.mail_catcher else
          f"mail: sent through {config.redact_uri(suite.env['CRM_SMTP_URL'])}\n", flush=True)
    return suite.supervise()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
