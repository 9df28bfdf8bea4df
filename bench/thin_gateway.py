"""The thinnest Flask-over-nameko gateway: one route, one RPC to the bare echo service (echo_service.py)
through the suite's RPC client, its answer returned as JSON. The baseline of bench_gateway_paths.py, served
by gunicorn with the gateway's worker layout (2 workers x 8 threads, gthread):

    BENCH_ECHO_AMQP_URI=amqp://... gunicorn -k gthread -w 2 --threads 8 thin_gateway:app
"""
from __future__ import annotations

import os

from flask import Flask, jsonify

from crm_common.rpcclient import RpcPool

app = Flask("thin_gateway")
# signed like the gateway's calls (an HMAC per call); the bare echo service does not verify it
pool = RpcPool(os.environ["BENCH_ECHO_AMQP_URI"], timeout=10, key=bytes(32))
ANSWER = {"id": "6f1c3a52-8d2e-4f4b-9a57-0c1e2d3b4a59", "email": "bench@crm.test", "full_name": "Bench User"}


@app.get("/echo")
def echo():
    return jsonify(pool.call("bench_echo", "echo", ANSWER))
