"""An S3-compatible server on loopback for tests (moto's server mode), and lake URIs on it."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from typing import Iterator

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "trackscope-test", "AWS_SECRET_ACCESS_KEY": "trackscope-test",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


def lake_uri(endpoint: str, bucket: str, prefix: str = "lake") -> str:
    """A pyarrow S3 URI for ``bucket/prefix`` on ``endpoint`` (host:port, plain HTTP)."""
    return (f"s3://{bucket}/{prefix}?endpoint_override={endpoint}&scheme=http&region=us-east-1"
            "&allow_bucket_creation=true")


@contextmanager
def s3_server() -> Iterator[str]:
    """Start moto's S3 server on a free loopback port; yields ``host:port``."""
    from tests.airflow_run import free_loopback_port

    port = free_loopback_port()
    env = {**os.environ, **CREDENTIALS}
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://{endpoint}/moto-api/", timeout=1)
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError("moto server exited") from None
                time.sleep(0.1)
        os.environ.update(CREDENTIALS)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


def new_bucket_uri(endpoint: str) -> str:
    """A lake URI in a fresh bucket (created on first write)."""
    return lake_uri(endpoint, f"trackscope-{uuid.uuid4().hex[:12]}")
