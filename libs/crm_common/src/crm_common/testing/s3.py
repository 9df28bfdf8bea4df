"""A real S3-compatible server for tests: moto's server (`moto[server]`, requirements-dev.txt) in a process of its
own on a free port, with a bucket, and the environment that points crm_common.records.filestore at it."""
from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

from crm_common.ports import free_port

ACCESS_KEY, SECRET_KEY = "test-access-key", "test-secret-key"


@contextmanager
def s3_server(bucket: str = "crm-files"):
    """Yields (endpoint_url, env): env sets CRM_ATTACHMENT_STORE=s3://<bucket>/attachments and the endpoint and
    credentials. The server stops afterwards."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.2)
        env = {"CRM_ATTACHMENT_STORE": f"s3://{bucket}/attachments", "CRM_S3_ENDPOINT_URL": endpoint,
               "CRM_S3_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        client(endpoint).create_bucket(Bucket=bucket)
        yield endpoint, env
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def client(endpoint: str):
    import boto3
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY)
