"""A proxy in front of the BigQuery emulator that refuses one load job, as BigQuery can (quota, a lost answer).

Clients reach it through ``BIGQUERY_EMULATOR_HOST``. Every request goes upstream
as it came, except the ``fail_load_job``-th load job's upload (counted from 1),
which is answered 403 here and never reaches the emulator.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOST = "127.0.0.1"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
LOAD_JOB_UPLOAD = "/upload/bigquery/v2/projects/"  # POST <this><project>/jobs?uploadType=...: a load job starts


@dataclass
class Faults:
    endpoint: str  # what clients use as BIGQUERY_EMULATOR_HOST
    fail_load_job: int = 0  # this load job (1 = the first) is refused; 0: none
    load_jobs: int = 0  # load jobs seen
    refused: list[str] = field(default_factory=list)


@contextlib.contextmanager
def faulty_bigquery(upstream: str) -> Iterator[Faults]:
    """Serve the proxy to the emulator at ``upstream``; set the returned object's fields to inject faults."""
    upstream_host = urlsplit(upstream).netloc
    counting = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while (size := int(self.rfile.readline().strip() or b"0", 16)) > 0:
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _answer(self, status: int, reason: str, headers: list, data: bytes) -> None:
            self.send_response(status, reason)
            for key, value in headers:
                if key.lower() not in HOP_BY_HOP | {"content-length"}:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _forward(self) -> None:
            body = self._body()
            if self.command == "POST" and urlsplit(self.path).path.startswith(LOAD_JOB_UPLOAD):
                with counting:
                    proxy.load_jobs += 1
                    refuse = proxy.load_jobs == proxy.fail_load_job
                if refuse:
                    proxy.refused.append(self.path)
                    message = "load job refused (injected by the test's proxy)"
                    error = {"error": {"code": 403, "message": message, "errors": [{"message": message}]}}
                    self._answer(403, "Forbidden", [("Content-Type", "application/json")], json.dumps(error).encode())
                    return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host", "content-length"}}
            conn = http.client.HTTPConnection(upstream_host, timeout=120)
            try:
                conn.request(self.command, self.path, body=body if body or self.command != "GET" else None,
                             headers=headers)
                response = conn.getresponse()
                status, reason, answer_headers, data = (response.status, response.reason, response.getheaders(),
                                                        response.read())
            finally:
                conn.close()
            self._answer(status, reason, answer_headers, data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

    server = ThreadingHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    proxy = Faults(endpoint=f"http://{HOST}:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, name="faulty-bigquery", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
