"""A local image server (127.0.0.1 only, generated JPEGs, some URLs answering 404) and a small
real-caption pool whose URLs point at it, matched once."""

from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate.api import match_pool
from metacurate.demo import make_sample
from metacurate.metadata import load_default_metadata
from tests.conftest import shared_dir

ROWS = 300
MISSING = frozenset(range(0, ROWS, 7)) | frozenset(range(3, ROWS, 11))  # ~23% answer 404


class ImageServer:
    """Serves ``/img/<i>.jpg``: a small JPEG, or 404 for ids in ``missing``."""

    def __init__(self) -> None:
        from PIL import Image

        self.missing: set[int] = set(MISSING)
        self.requests = 0
        self.images = []
        for i in range(8):
            buf = io.BytesIO()
            Image.new("RGB", (24, 20), (30 * i, 200 - 20 * i, 90)).save(buf, "JPEG")
            self.images.append(buf.getvalue())
        server = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests += 1
                name = self.path.rsplit("/", 1)[-1].removesuffix(".jpg")
                if not name.isdigit() or int(name) in server.missing:
                    self.send_error(404)
                    return
                body = server.images[int(name) % len(server.images)]
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ImageServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def image_server():
    with ImageServer() as server:
        yield server


@pytest.fixture(scope="session")
def download_pool(tmp_path_factory, image_server) -> Path:
    """ROWS real captions (LAION sample, else the demo pool) with URLs on the local server."""
    out = tmp_path_factory.mktemp("dl-pool") / "pool.parquet"
    d = shared_dir()
    laion = d / "data/captions/laion_sample_10k.parquet" if d is not None else None
    if laion is not None and laion.exists():
        table = pq.read_table(laion, columns=["URL", "TEXT"]).slice(0, ROWS)
        url_col = "URL"
    else:
        make_sample(out, load_default_metadata(), ROWS)
        table, url_col = pq.read_table(out).drop_columns(["uid"]), "url"
    urls = pa.array([f"{image_server.base}/img/{i}.jpg" for i in range(ROWS)])
    table = table.set_column(table.schema.get_field_index(url_col), url_col, urls)
    pq.write_table(table, out)
    return out


@pytest.fixture(scope="session")
def download_workdir(tmp_path_factory, download_pool) -> Path:
    out = tmp_path_factory.mktemp("dl-work") / "work"
    match_pool(download_pool, out, metadata=load_default_metadata(), workers=1)
    return out
