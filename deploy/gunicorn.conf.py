"""gunicorn settings of the CRM gateway, read from the environment (standard library only).

    gunicorn -c deploy/gunicorn.conf.py "crm_gateway.app:create_app()"

| variable                   | default                                  |
| -------------------------- | ---------------------------------------- |
| CRM_BIND                   | 127.0.0.1 (containers set 0.0.0.0)       |
| CRM_PORT                   | 8080                                     |
| CRM_GATEWAY_WORKERS        | 2 x usable cores + 1, at most 4          |
| CRM_GATEWAY_THREADS        | 8                                        |
| CRM_GATEWAY_KEEPALIVE      | 5 (seconds)                              |
| CRM_GATEWAY_MAX_REQUESTS   | 10000 (recycle a worker after that many) |
| CRM_GATEWAY_MAX_REQUESTS_JITTER | 1000                                |
| CRM_FORWARDED_ALLOW_IPS    | FORWARDED_ALLOW_IPS, else 127.0.0.1,::1  |
| (CRM_TRUSTED_PROXIES       | read by the app, not here: see SECURITY.md) |
| CRM_LOG_LEVEL              | info                                     |
| CRM_GATEWAY_CONTROL_SOCKET | /tmp/crm-gateway-<port>.ctl (gunicorn >= 25) |

gunicorn ignores names here that are not settings, so the helpers below are harmless.
"""
import math
import os

_MAX_DEFAULT_WORKERS = 4


def _env(name, default):
    value = os.environ.get(name, "").strip()
    return value if value else default


def _env_int(name, default, minimum=0):
    raw = _env(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"gunicorn.conf.py: {name} must be an integer, got {raw!r}")
    if value < minimum:
        raise SystemExit(f"gunicorn.conf.py: {name} must be >= {minimum}, got {value}")
    return value


def _usable_cores():
    """Cores this process may use: CPU affinity, lowered by a cgroup CPU quota (container limits)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = None
    try:  # cgroup v2: "<quota> <period>" or "max <period>"
        with open("/sys/fs/cgroup/cpu.max") as fh:
            max_quota, period = fh.read().split()[:2]
        if max_quota != "max":
            quota = int(max_quota) / int(period)
    except (OSError, ValueError):
        try:  # cgroup v1
            with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") as fh:
                v1_quota = int(fh.read())
            with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as fh:
                v1_period = int(fh.read())
            if v1_quota > 0 and v1_period > 0:
                quota = v1_quota / v1_period
        except (OSError, ValueError):
            pass
    if quota:
        cores = min(cores, max(1, math.ceil(quota)))
    return max(1, cores)


def _bind_address(host, port):
    if host.startswith(("unix:", "fd://")):
        return host
    if ":" in host and not host.startswith("["):  # bare IPv6 address
        host = f"[{host}]"
    return f"{host}:{port}"


# --- server socket -----------------------------------------------------------------------------
_port = _env_int("CRM_PORT", 8080, minimum=1)
bind = [_bind_address(_env("CRM_BIND", "127.0.0.1"), _port)]

# --- workers: gthread, each worker a process with a pool of threads ------------------------------
worker_class = "gthread"
workers = _env_int("CRM_GATEWAY_WORKERS", min(2 * _usable_cores() + 1, _MAX_DEFAULT_WORKERS), minimum=1)
threads = _env_int("CRM_GATEWAY_THREADS", 8, minimum=1)
timeout = 30            # a worker silent this long is killed and replaced
graceful_timeout = 20   # on SIGTERM, in-flight requests get this long to finish
keepalive = _env_int("CRM_GATEWAY_KEEPALIVE", 5, minimum=0)
max_requests = _env_int("CRM_GATEWAY_MAX_REQUESTS", 10000)
max_requests_jitter = _env_int("CRM_GATEWAY_MAX_REQUESTS_JITTER", 1000)
preload_app = False     # each worker builds its own app and its own RPC connections after fork
# Worker heartbeat files on tmpfs: a slow or read-only container disk cannot stall the workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
proc_name = "crm-gateway"

# --- proxies -----------------------------------------------------------------------------------
# Peers trusted to set X-Forwarded-Proto for gunicorn: the ingress or load balancer in front of the
# gateway ("*" when only the ingress can reach the pods; keep the default when clients connect
# directly). The client address the app uses (rate limits, login throttling, audit) is set by the
# app itself from X-Forwarded-For, for CRM_TRUSTED_PROXIES hops only (crm_gateway.app, ProxyFix).
forwarded_allow_ips = _env("CRM_FORWARDED_ALLOW_IPS", _env("FORWARDED_ALLOW_IPS", "127.0.0.1,::1"))

# --- logging: access log on stdout, errors on stderr ---------------------------------------------
accesslog = "-"
errorlog = "-"
loglevel = _env("CRM_LOG_LEVEL", "info").lower()
# client, forwarded-for, time, request line, status, bytes, duration (ms), request id, referer, agent.
# %({x-request-id}o)s is the X-Request-ID response header the gateway sets on every response.
access_log_format = (
    '%(h)s fwd=%({x-forwarded-for}i)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms '
    'rid=%({x-request-id}o)s "%(f)s" "%(a)s"'
)
# Secrets that travel in URL paths (a survey's token, a mail's link tokens) and personal data in query
# strings (?email=, ?phone=, ?q=) are replaced with [redacted] in every atom of
# the access log and in the error log (crm_gateway.redaction).
logger_class = "crm_gateway.redaction.RedactingLogger"
# CRM_LOG_FORMAT=json (compose, Kubernetes): every line one JSON object -- the access lines are built as JSON by
# RedactingLogger, the error log and the app's own lines by crm_common.logs' formatter.
if _env("CRM_LOG_FORMAT", "text") == "json":
    logconfig_dict = {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"json": {"()": "crm_common.logs.formatter", "service": "gateway"},
                       "as_is": {"format": "%(message)s"}},
        "filters": {"ids": {"()": "crm_common.logs.RequestIdFilter"}},
        "handlers": {"errors": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["ids"],
                                "stream": "ext://sys.stderr"},
                     "access": {"class": "logging.StreamHandler", "formatter": "as_is", "stream": "ext://sys.stdout"}},
        "loggers": {"gunicorn.error": {"handlers": ["errors"], "level": loglevel.upper(), "propagate": False},
                    "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False}},
        "root": {"handlers": ["errors"], "level": loglevel.upper()},
    }

# gunicorn >= 25 opens a control socket for `gunicornc` (default under $HOME, read-only in
# containers); one per port, so several gateways on one host do not share it.
control_socket = _env("CRM_GATEWAY_CONTROL_SOCKET", f"/tmp/crm-gateway-{_port}.ctl")


# --- metrics: the workers' counters summed at /metrics (prometheus_client's multiprocess mode) ----------
def on_starting(server):
    """In the master, before any worker starts (and imports prometheus_client): the folder where the workers
    keep their counters, this gateway's own, emptied."""
    import shutil
    folder = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(
        _env("CRM_VAR_DIR", "var"), "prometheus", f"gateway-{_port}"))
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


# --- hooks -------------------------------------------------------------------------------------
def post_fork(server, worker):
    server.log.info("gateway worker %s started (%s threads)", worker.pid, threads)


def post_worker_init(worker):
    # the app is built: keep its long-lived objects out of later full collections (crm_common.heap)
    from crm_common.heap import freeze
    freeze()

# Every request line reaches the app, which answers an over-long URL (> 4096 characters) with a
# 414 problem+json itself, as API.md promises; gunicorn's own limit (at most 8190) would answer
# longer lines with an HTML page instead. 0 lifts gunicorn's limit (its C parser still stops at
# 1 MB); the worker timeout bounds a client that never finishes its line.
limit_request_line = 0
