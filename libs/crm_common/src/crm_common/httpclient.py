"""HTTP to the gateway without the kept-alive connection race.

The gateway (gunicorn) closes a kept-alive connection once it has been idle for its keepalive, and a
recycled worker closes its idle ones after a short linger. A request written on such a connection just as
it closes is lost with "Remote end closed connection without response", and the client cannot know
whether the server read it. So a read (GET, HEAD) goes through a pool and is sent again on that error,
while a write goes on a connection of its own, closed after the answer: it never rides one the server
may be closing, and is never sent twice.
"""
from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

READS = frozenset({"GET", "HEAD", "OPTIONS"})


def pooled_session(pool_size: int = 10) -> requests.Session:
    """A session for reads: kept-alive connections, a read the server dropped unanswered sent again."""
    http = requests.Session()
    http.trust_env = False  # the gateway is named directly: never through a proxy from the environment
    retry = Retry(total=2, connect=2, read=2, status=0, other=0, backoff_factor=0.05,
                  allowed_methods=READS, raise_on_status=False)
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=pool_size)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http


def send(http: requests.Session, method: str, url: str, **kwargs) -> requests.Response:
    """`method url` through `http` when it is a read; a write on a connection of its own, closed after."""
    method = method.upper()
    if method in READS:
        return http.request(method, url, **kwargs)
    headers = {**(kwargs.pop("headers", None) or {}), "Connection": "close"}
    with requests.Session() as once:
        once.trust_env = False
        return once.request(method, url, headers=headers, **kwargs)
