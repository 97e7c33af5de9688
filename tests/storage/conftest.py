"""A real S3 API on 127.0.0.1: moto's standalone server (the one s3fs's own tests use),
started once per session on a free port and stopped at the end."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import require_system
from tests.engine.test_resume import metadata, pool  # noqa: F401


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_command(port: int) -> list[str] | None:
    if importlib.util.find_spec("moto.server") is not None:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    exe = shutil.which("moto_server")
    return [exe, "-H", "127.0.0.1", "-p", str(port)] if exe else None


def _wait_up(url: str, proc: subprocess.Popen, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"moto server at {url} did not start in {seconds} s")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a running moto S3 server, with dummy credentials in the
    environment (subprocesses inherit them)."""
    port = _free_port()
    cmd = _server_command(port)
    require_system("moto server (pip install 'moto[server]')", cmd is not None)
    assert cmd is not None
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture()
def bucket(s3_endpoint) -> str:
    """A fresh, empty bucket for one test."""
    import pyarrow.fs as pafs

    name = f"t-{uuid.uuid4().hex[:16]}"
    fs = pafs.S3FileSystem(
        endpoint_override=s3_endpoint, region="us-east-1", allow_bucket_creation=True
    )
    fs.create_dir(name)
    return name
