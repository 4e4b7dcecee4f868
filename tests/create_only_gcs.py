"""A proxy in front of fake-gcs-server that gives chosen buckets Cloud Storage's create-only rights.

The pipeline's service account may create and read objects in the artifacts
bucket but not delete them (roles/storage.objectCreator + objectViewer), and
replacing an object needs ``storage.objects.delete``: real GCS answers 403.
fake-gcs-server allows everything, so this proxy, which every client reaches
through ``STORAGE_EMULATOR_HOST``, answers 403 as GCS would to any upload
whose object already exists, to any copy or rewrite onto one, and to any
delete, in the protected buckets. Every refusal is kept, so a test can also
report one that a client swallowed.

Only the request that names the object is checked (simple, multipart, or the
start of a resumable upload); a resumable upload's later chunks go straight to
fake-gcs-server's own address, which it hands out itself.
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
from urllib.parse import parse_qs, quote, unquote, urlsplit

HOST = "127.0.0.1"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
UPLOAD = re.compile(r"^/upload/storage/v1/b/([^/]+)/o/?$")
OBJECT = re.compile(r"^/storage/v1/b/([^/]+)/o/(.+?)(/(rewriteTo|copyTo)/b/([^/]+)/o/(.+))?$")
NAME_IN_BODY = re.compile(rb'"name"\s*:\s*"((?:[^"\\]|\\.)*)"')


@dataclass
class CreateOnly:
    endpoint: str  # what clients use as STORAGE_EMULATOR_HOST
    refused: list[str] = field(default_factory=list)  # "METHOD gs://bucket/name", in order


def _uploaded_name(query: str, body: bytes) -> str | None:
    """The object an upload request creates: ``name=`` in the query, else the JSON metadata in the body."""
    names = parse_qs(query).get("name")
    if names:
        return names[0]
    found = NAME_IN_BODY.search(body)
    return json.loads(b'"' + found.group(1) + b'"') if found else None


def _target(method: str, path: str, query: str, body: bytes) -> tuple[str, str] | None:
    """(bucket, object) a request would create, replace or delete; None for anything else."""
    upload = UPLOAD.match(path)
    if upload and method in ("POST", "PUT"):
        name = _uploaded_name(query, body)
        return (upload.group(1), name) if name else None
    obj = OBJECT.match(path)
    if obj and method == "DELETE" and not obj.group(3):
        return obj.group(1), unquote(obj.group(2))
    if obj and obj.group(3) and method == "POST":
        return obj.group(5), unquote(obj.group(6))
    return None


@contextlib.contextmanager
def create_only_proxy(upstream: str, buckets: set[str]) -> Iterator[CreateOnly]:
    """Serve a proxy to the fake-gcs-server at ``upstream`` in which ``buckets`` are create-only."""
    upstream_host = urlsplit(upstream).netloc

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

        def _exists(self, bucket: str, name: str) -> bool:
            conn = http.client.HTTPConnection(upstream_host, timeout=30)
            try:
                conn.request("GET", f"/storage/v1/b/{bucket}/o/{quote(name, safe='')}")
                response = conn.getresponse()
                response.read()
                return response.status == 200
            finally:
                conn.close()

        def _refuse(self, bucket: str, name: str) -> None:
            proxy.refused.append(f"{self.command} gs://{bucket}/{name}")
            message = (f"pipeline@test.iam.gserviceaccount.com does not have storage.objects.delete access to "
                       f"the Google Cloud Storage object. Permission 'storage.objects.delete' denied on resource "
                       f"(or it may not exist): gs://{bucket}/{name} (create-only bucket)")
            data = json.dumps({"error": {"code": 403, "message": message,
                                         "errors": [{"reason": "forbidden", "message": message}]}}).encode()
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _forward(self) -> None:
            parts = urlsplit(self.path)
            body = self._body()
            target = _target(self.command, parts.path, parts.query, body)
            if target and target[0] in buckets and (self.command == "DELETE" or self._exists(*target)):
                self._refuse(*target)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host", "content-length"}}
            conn = http.client.HTTPConnection(upstream_host, timeout=300)
            try:
                conn.request(self.command, self.path, body=body if body or self.command in ("POST", "PUT", "PATCH")
                             else None, headers=headers)
                response = conn.getresponse()
                data = response.read()
            finally:
                conn.close()
            self.send_response(response.status, response.reason)
            for key, value in response.getheaders():
                if key.lower() not in HOP_BY_HOP | {"content-length"}:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

    server = ThreadingHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    proxy = CreateOnly(endpoint=f"http://{HOST}:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, name="create-only-gcs", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
