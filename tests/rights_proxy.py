"""Proxies in front of fake-gcs-server and the BigQuery emulator that enforce one identity's IAM rights.

The emulators let anyone do anything. Each proxy here stands for one identity
(``terraform_rights.Rights``: permissions per bucket, per dataset, and on the
project) and answers 403 the way Cloud Storage or BigQuery would to a request
that needs a permission the identity lacks; everything else goes upstream as
it came. Every refusal is kept (``Gate.refused``, ``Gate.denied``), so a test
can report one that a client swallowed, and every permission used is counted
(``Gate.used``), so a test can see its traffic really went through the proxy.

What a request needs, as the services document it:
- Cloud Storage (JSON API, batch, and the XML API that delta-rs uses): read
  ``storage.objects.get``, list ``storage.objects.list``, create
  ``storage.objects.create``, and replacing an existing object also
  ``storage.objects.delete`` (checked by asking upstream whether it exists,
  only when the identity lacks delete); an upload with ``ifGenerationMatch=0``
  can never replace, so it needs create only (upstream then answers 412 if the
  object exists). Copies and composes need get on their sources; a move
  (``moveTo``, the GCS connector's rename) get and delete on its source. Only
  the request that names an object is checked: a resumable upload's later
  chunks and a multipart upload's parts ride on the authorised start.
- BigQuery: dataset and table calls need ``bigquery.datasets.*`` /
  ``bigquery.tables.*`` on their dataset; a job needs ``bigquery.jobs.create``
  on its project, and then what it touches: a query ``tables.getData`` on each
  table it reads (backticked or three-part names in its SQL) and
  ``tables.updateData`` on each it writes (INSERT, DELETE, UPDATE, MERGE; CREATE
  and DROP need create and delete); a load job updateData on its destination
  and, since BigQuery reads the files as the caller, ``storage.objects.get``
  (and list, for a wildcard) on every source bucket. Real BigQuery reports a
  query's missing table permission when the job runs, not when it is inserted;
  either way the client raises Forbidden.

One refusal is kept apart, in ``Gate.probes``: google-cloud-storage (3.17)
fetches a bucket's metadata (``GET /storage/v1/b/<bucket>?projection=noAcl``)
in a background thread for its tracing attributes, and by design goes on
without it on a 403 (``_bucket_metadata_cache.py``); identities with object
roles only lack ``storage.buckets.get``, so it is refused here as GCS would,
but it is no right the step needs.

A request the proxy cannot classify goes upstream but is recorded in
``Gate.unclassified``: a test asserts that list empty, so a new kind of call
is looked at rather than waved through.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

from terraform_rights import Rights

HOST = "127.0.0.1"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


@dataclass(frozen=True)
class Need:
    """One permission a request needs on one resource."""

    permission: str
    resource: str  # gs://bucket[/object], project.dataset[.table], or projects/<id>
    scope: str  # the bucket, project.dataset or project whose grants decide
    if_exists: bool = False  # needed only when the object already exists (a replacement)


@dataclass
class Gate:
    identity: str
    endpoint: str  # what clients use as STORAGE_EMULATOR_HOST or BIGQUERY_EMULATOR_HOST
    refused: list[str] = field(default_factory=list)  # "METHOD gs://bucket/name" (or the BigQuery resource)
    denied: list[str] = field(default_factory=list)  # who lacked which permission on what, for a failure message
    used: Counter = field(default_factory=Counter)  # (permission, scope) -> requests allowed with it
    unclassified: list[str] = field(default_factory=list)  # "METHOD path" forwarded without a check
    probes: list[str] = field(default_factory=list)  # refused bucket-metadata probes a client goes on without


# --- the forwarding server, shared by both proxies ---------------------------------------------------------

class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A client that hangs up on a kept-alive connection is no error; anything else is printed as usual."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


Decide = Callable[[BaseHTTPRequestHandler, str, str, dict, bytes], "tuple[int, str, bytes] | None"]


@contextlib.contextmanager
def serving(upstream: str, decide: Decide, name: str) -> Iterator[str]:
    """A proxy to ``upstream``: ``decide(handler, method, path, query, body)`` returns None to forward the
    request, or (status, content type, body) to answer it here. Yields the proxy's endpoint."""
    upstream_host = urlsplit(upstream).netloc

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # One write per answer (flushed after each request), no Nagle: an answer's headers and body in separate
        # segments meet the client's delayed ACK, 40 ms a request (49 ms through the proxy against 3 ms direct).
        wbufsize = -1
        disable_nagle_algorithm = True

        def log_message(self, *args):  # quiet: the test reports what matters
            pass

        def handle_expect_100(self) -> bool:
            answered = super().handle_expect_100()
            self.wfile.flush()  # the client waits for this before it sends the body
            return answered

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
            if self.command != "HEAD":
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up on this answer
                    self.close_connection = True

        def _forward(self) -> None:
            parts = urlsplit(self.path)
            body = self._body()
            answer = decide(self, self.command, parts.path, parse_qs(parts.query), body)
            if answer is not None:
                status, content_type, data = answer
                self._answer(status, "Forbidden" if status == 403 else "Refused", [("Content-Type", content_type)],
                             data)
                return
            skip = HOP_BY_HOP | {"host", "content-length"}
            headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
            conn = http.client.HTTPConnection(upstream_host, timeout=300)
            try:
                conn.request(self.command, self.path, body=body if body or self.command in ("POST", "PUT", "PATCH")
                             else None, headers=headers)
                response = conn.getresponse()
                status, reason, answer_headers, data = (response.status, response.reason, response.getheaders(),
                                                        response.read())
            finally:
                conn.close()
            self._answer(status, reason, answer_headers, data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

    server = _QuietServer((HOST, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _exists(upstream: str, bucket: str, name: str) -> bool:
    conn = http.client.HTTPConnection(urlsplit(upstream).netloc, timeout=30)
    try:
        conn.request("GET", f"/storage/v1/b/{bucket}/o/{quote(name, safe='')}")
        response = conn.getresponse()
        response.read()
        return response.status == 200
    finally:
        conn.close()


def _check(gate: Gate, rights_of: Callable[[str], frozenset[str]], needs: list[Need],
           exists: Callable[[Need], bool]) -> list[Need]:
    """The needs the identity lacks (a replacement's delete only if the object exists); counts the rest."""
    missing = []
    for need in needs:
        if need.permission in rights_of(need.scope):
            gate.used[(need.permission, need.scope)] += 1
        elif not need.if_exists or exists(need):
            missing.append(need)
    return missing


# --- Cloud Storage ------------------------------------------------------------------------------------------

_NOT_A_BUCKET = {"storage", "upload", "download", "batch", "bigquery", "_internal"}
_JSON_BUCKETS = re.compile(r"^/storage/v1/b/?$")
_JSON_BUCKET = re.compile(r"^/storage/v1/b/([^/]+)/?$")
_JSON_LIST = re.compile(r"^/storage/v1/b/([^/]+)/o/?$")
_JSON_COPY = re.compile(r"^/storage/v1/b/([^/]+)/o/(.+?)/(?:rewriteTo|copyTo)/b/([^/]+)/o/(.+)$")
_JSON_MOVE = re.compile(r"^/storage/v1/b/([^/]+)/o/(.+?)/moveTo/o/(.+)$")  # objects.move: an atomic rename
_JSON_COMPOSE = re.compile(r"^/storage/v1/b/([^/]+)/o/(.+?)/compose$")
_JSON_OBJECT = re.compile(r"^/storage/v1/b/([^/]+)/o/(.+)$")
_DOWNLOAD = re.compile(r"^/download/storage/v1/b/([^/]+)/o/(.+)$")
_UPLOAD = re.compile(r"^/upload/storage/v1/b/([^/]+)/o/?$")
_BATCH = re.compile(r"^/batch/storage/v1/?$")
_XML = re.compile(r"^/([^/]+)(?:/(.*))?$")
_BATCH_LINE = re.compile(rb"^(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP/1\.1\r?$", re.M)
_NAME_IN_BODY = re.compile(rb'"name"\s*:\s*"((?:[^"\\]|\\.)*)"')
_OBJECT_VERB = {"GET": "get", "HEAD": "get", "DELETE": "delete", "PATCH": "update", "PUT": "update"}


def _obj(bucket: str, name: str, permission: str, if_exists: bool = False) -> Need:
    return Need(f"storage.objects.{permission}", f"gs://{bucket}/{name}", bucket, if_exists)


def _created(bucket: str, name: str, query: dict) -> list[Need]:
    """Creating ``name``: a replacement when it exists, unless the request says only if absent."""
    needs = [_obj(bucket, name, "create")]
    if query.get("ifGenerationMatch") != ["0"]:
        needs.append(_obj(bucket, name, "delete", if_exists=True))
    return needs


def _uploaded_name(query: dict, body: bytes) -> str | None:
    if query.get("name"):
        return query["name"][0]
    found = _NAME_IN_BODY.search(body)
    return json.loads(b'"' + found.group(1) + b'"') if found else None


def storage_needs(method: str, path: str, query: dict, body: bytes = b"",
                  headers: dict | None = None) -> list[Need] | None:
    """What a Cloud Storage request needs; None when this does not know the request."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if _JSON_BUCKETS.match(path):
        return [Need(f"storage.buckets.{'create' if method == 'POST' else 'list'}", "projects/*", "*")]
    if found := _JSON_BUCKET.match(path):
        verb = {"GET": "get", "HEAD": "get", "PATCH": "update", "PUT": "update", "DELETE": "delete"}.get(method)
        bucket = unquote(found.group(1))
        return [Need(f"storage.buckets.{verb}", f"gs://{bucket}", bucket)] if verb else None
    if found := _JSON_LIST.match(path):
        bucket = unquote(found.group(1))
        if method == "POST":
            return _created(bucket, _uploaded_name(query, body) or "", query)
        return [Need("storage.objects.list", f"gs://{bucket}", bucket)]
    if (found := _JSON_COPY.match(path)) and method == "POST":
        source, target = (unquote(found.group(1)), unquote(found.group(2))), (unquote(found.group(3)),
                                                                            unquote(found.group(4)))
        return [_obj(*source, "get"), *_created(*target, query)]
    if (found := _JSON_MOVE.match(path)) and method == "POST":
        # Source: get and delete (or storage.objects.move, which no role here needs to carry alone).
        bucket, source, target = unquote(found.group(1)), unquote(found.group(2)), unquote(found.group(3))
        return [_obj(bucket, source, "get"), _obj(bucket, source, "delete"), *_created(bucket, target, query)]
    if (found := _JSON_COMPOSE.match(path)) and method == "POST":
        bucket = unquote(found.group(1))
        sources = [s.get("name", "") for s in (json.loads(body or b"{}").get("sourceObjects") or [])]
        return [*(_obj(bucket, s, "get") for s in sources), *_created(bucket, unquote(found.group(2)), query)]
    if (found := _JSON_OBJECT.match(path)) and method in _OBJECT_VERB:
        return [_obj(unquote(found.group(1)), unquote(found.group(2)), _OBJECT_VERB[method])]
    if found := _DOWNLOAD.match(path):
        return [_obj(unquote(found.group(1)), unquote(found.group(2)), "get")]
    if found := _UPLOAD.match(path):
        if "upload_id" in query:
            return []  # a resumable upload's later request: authorised at its start
        name = _uploaded_name(query, body)
        return _created(unquote(found.group(1)), name, query) if name else None
    if _BATCH.match(path):
        needs = []
        for line in _BATCH_LINE.finditer(body):
            parts = urlsplit(line.group(2).decode())
            inner = storage_needs(line.group(1).decode(), parts.path, parse_qs(parts.query))
            if inner is None:
                return None
            needs += inner
        return needs
    found = _XML.match(path)
    if found and unquote(found.group(1)) not in _NOT_A_BUCKET:  # delta-rs quotes the whole path, the bucket too
        bucket, name = unquote(found.group(1)), unquote(found.group(2) or "")
        if not name:
            return [Need("storage.objects.list", f"gs://{bucket}", bucket)] if method in ("GET", "HEAD") else None
        if "uploadId" in query:
            return []  # a multipart upload's part, completion or abort: authorised at its start
        if method in ("GET", "HEAD"):
            return [_obj(bucket, name, "get")]
        if method == "DELETE":
            return [_obj(bucket, name, "delete")]
        if method in ("PUT", "POST"):
            needs = _created(bucket, name, {"ifGenerationMatch": ["0"]} if headers.get("x-goog-if-generation-match")
                             == "0" else {})
            source = headers.get("x-goog-copy-source")
            if source:
                src_bucket, _, src_name = unquote(source).lstrip("/").partition("/")
                needs.insert(0, _obj(src_bucket, src_name, "get"))
            return needs
    return None


def _storage_error(gate: Gate, need: Need, xml: bool) -> tuple[int, str, bytes]:
    message = (f"{gate.identity} does not have {need.permission} access to the Google Cloud Storage "
               f"{'bucket' if need.permission.startswith('storage.buckets') else 'object'}. Permission "
               f"'{need.permission}' denied on resource (or it may not exist): {need.resource}")
    if xml:
        data = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code>"
                f"<Message>Access denied.</Message><Details>{message}</Details></Error>").encode()
        return 403, "application/xml", data
    error = {"error": {"code": 403, "message": message,
                       "errors": [{"message": message, "domain": "global", "reason": "forbidden"}]}}
    return 403, "application/json", json.dumps(error).encode()


@contextlib.contextmanager
def rights_gcs_proxy(upstream: str, rights: Rights) -> Iterator[Gate]:
    """Serve a proxy to the fake-gcs-server at ``upstream`` that allows exactly ``rights``' storage permissions."""
    gate = Gate(identity=rights.identity, endpoint="")

    def decide(handler, method: str, path: str, query: dict, body: bytes):
        needs = storage_needs(method, path, query, body, dict(handler.headers.items()))
        if needs is None:
            gate.unclassified.append(f"{method} {path}")
            return None
        missing = _check(gate, rights.storage, needs, lambda n: _exists(upstream, n.scope,
                                                                         n.resource.split("/", 3)[3]))
        if not missing:
            return None
        first = missing[0]
        refusal = f"{rights.identity} lacks {first.permission} on {first.resource} ({method} {path})"
        if first.permission == "storage.buckets.get" and method == "GET" and query.get("projection") == ["noAcl"]:
            gate.probes.append(refusal)  # google-cloud-storage's metadata cache: it goes on without (see above)
        else:
            gate.refused.append(f"{method} {first.resource}")
            gate.denied.append(refusal)
        xml = not path.startswith(("/storage/", "/upload/", "/download/", "/batch/"))
        return _storage_error(gate, first, xml)

    with serving(upstream, decide, f"rights-gcs-{rights.identity}") as endpoint:
        gate.endpoint = endpoint
        yield gate


# --- BigQuery -----------------------------------------------------------------------------------------------

_BQ = re.compile(r"^(?:/upload)?/bigquery/v2/projects(?:/([^/]+)(/.*)?)?$")
_BQ_DATASETS = re.compile(r"^/datasets/?$")
_BQ_DATASET = re.compile(r"^/datasets/([^/]+)/?$")
_BQ_TABLES = re.compile(r"^/datasets/([^/]+)/tables/?$")
_BQ_TABLE = re.compile(r"^/datasets/([^/]+)/tables/([^/]+)(/data|/insertAll)?/?$")
_BQ_JOBS = re.compile(r"^/(jobs|queries)/?$")
_BQ_JOB = re.compile(r"^/(jobs|queries)/[^/]+(/cancel|/delete)?/?$")
# Table names in SQL: backticked `project.dataset.table` or `dataset.table`, or a bare project.dataset.table.
_SQL_TABLE = re.compile(r"`([\w-]+(?:\.[\w-]+){1,2})`|\b(?:FROM|JOIN)\s+([A-Za-z][\w-]*\.[A-Za-z_]\w*\.[A-Za-z_]\w*)\b",
                        re.I)
_SQL_WRITE = re.compile(
    r"\b(INSERT(?:\s+INTO)?|DELETE(?:\s+FROM)?|UPDATE|MERGE(?:\s+INTO)?|TRUNCATE\s+TABLE|"
    r"CREATE(?:\s+OR\s+REPLACE)?(?:\s+TEMP(?:ORARY)?)?\s+TABLE(?:\s+IF\s+NOT\s+EXISTS)?|"
    r"DROP\s+TABLE(?:\s+IF\s+EXISTS)?)\s+(`[^`]+`|[\w.-]+)", re.I)
_SQL_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def _table(project: str, name: str, default_dataset: str | None = None) -> tuple[str, str]:
    """(project.dataset, project.dataset.table) of a table named with one, two or three parts."""
    parts = name.strip("`").split(".")
    if len(parts) == 2:
        parts = [project, *parts]
    elif len(parts) == 1:
        parts = [*(default_dataset or f"{project}.?").split("."), parts[0]]
    return ".".join(parts[:2]), ".".join(parts)


def _table_need(permission: str, project: str, name: str, default_dataset: str | None = None) -> Need:
    dataset, table = _table(project, name, default_dataset)
    return Need(f"bigquery.tables.{permission}", table, dataset)


def _ref(project: str, ref: dict) -> str:
    return f"{ref.get('projectId') or project}.{ref['datasetId']}.{ref['tableId']}"


def sql_needs(sql: str, project: str, default_dataset: str | None = None) -> list[Need]:
    """Tables a query reads (getData) and writes (updateData; create, delete for CREATE, DROP)."""
    text = _SQL_STRING.sub("''", sql)
    needs, written = [], set()
    for verb, name in _SQL_WRITE.findall(text):
        verb = verb.split()[0].upper()
        written.add(_table(project, name, default_dataset)[1])
        permission = {"CREATE": "create", "DROP": "delete"}.get(verb, "updateData")
        needs.append(_table_need(permission, project, name, default_dataset))
        if verb in ("DELETE", "UPDATE", "MERGE", "TRUNCATE"):
            needs.append(_table_need("getData", project, name, default_dataset))
    for quoted, bare in _SQL_TABLE.findall(text):
        name = quoted or bare
        if _table(project, name, default_dataset)[1] not in written:
            needs.append(_table_need("getData", project, name, default_dataset))
    return needs


def _job_config(body: bytes) -> dict:
    """A job's JSON, from a plain body or the first part of a multipart upload."""
    text = body.decode("utf-8", "replace")
    start = text.find("{")
    if start < 0:
        return {}
    with contextlib.suppress(ValueError):
        return json.JSONDecoder().raw_decode(text[start:])[0]
    return {}


def job_needs(project: str, job: dict, rights: Rights) -> list[Need]:
    """A job's project permission and what its configuration reads and writes."""
    needs = [Need("bigquery.jobs.create", f"projects/{project}", project)]
    config = job.get("configuration") or {}
    if "query" in job and "configuration" not in job:  # jobs.query: the request is the query
        config = {"query": job}
    if query := config.get("query"):
        default = query.get("defaultDataset")
        default_id = f"{default.get('projectId') or project}.{default['datasetId']}" if default else None
        needs += sql_needs(query.get("query", ""), project, default_id)
        if destination := query.get("destinationTable"):
            needs += [_table_need(p, project, _ref(project, destination)) for p in ("create", "updateData")]
    if load := config.get("load"):
        destination = _ref(project, load["destinationTable"])
        needs.append(_table_need("updateData", project, destination))
        if load.get("createDisposition") != "CREATE_NEVER":
            needs.append(_table_need("create", project, destination))
        for uri in load.get("sourceUris") or []:
            bucket, _, name = uri.removeprefix("gs://").partition("/")
            needs.append(Need("storage.objects.get", uri, f"gs:{bucket}"))
            if "*" in name:
                needs.append(Need("storage.objects.list", uri, f"gs:{bucket}"))
    if copy := config.get("copy"):
        sources = copy.get("sourceTables") or [copy["sourceTable"]]
        needs += [_table_need("getData", project, _ref(project, s)) for s in sources]
        needs += [_table_need(p, project, _ref(project, copy["destinationTable"])) for p in ("create", "updateData")]
    if extract := config.get("extract"):
        needs.append(_table_need("getData", project, _ref(project, extract["sourceTable"])))
        for uri in extract.get("destinationUris") or []:
            needs.append(Need("storage.objects.create", uri, f"gs:{uri.removeprefix('gs://').partition('/')[0]}"))
    return needs


def bigquery_needs(method: str, path: str, query: dict, body: bytes, rights: Rights) -> list[Need] | None:
    """What a BigQuery REST request needs; None when this does not know the request."""
    found = _BQ.match(path)
    if not found:
        return None
    project, rest = found.group(1), found.group(2) or ""
    if project is None or rest == "":
        return [] if method == "GET" else None  # the projects list: each caller sees its own
    if path.startswith("/upload/"):
        if "upload_id" in query:
            return []  # a resumable load's data: authorised at its start
        return job_needs(project, _job_config(body), rights)
    if _BQ_DATASETS.match(rest):
        return [] if method == "GET" else [Need("bigquery.datasets.create", f"projects/{project}", project)]
    if found := _BQ_DATASET.match(rest):
        verb = {"GET": "get", "PATCH": "update", "PUT": "update", "DELETE": "delete"}.get(method)
        if verb is None:
            return None
        return [Need(f"bigquery.datasets.{verb}", f"{project}.{found.group(1)}", f"{project}.{found.group(1)}")]
    if found := _BQ_TABLES.match(rest):
        dataset = f"{project}.{found.group(1)}"
        return [Need(f"bigquery.tables.{'create' if method == 'POST' else 'list'}", dataset, dataset)]
    if (found := _BQ_TABLE.match(rest)) and found.group(1).startswith("_") and method == "GET":
        # An anonymous dataset holds a query's results: readable by the job's creator.
        return [Need("bigquery.jobs.create", f"projects/{project}", project)]
    if found:
        dataset, table, tail = f"{project}.{found.group(1)}", found.group(2), found.group(3)
        if tail == "/data":
            verb = "getData"
        elif tail == "/insertAll":
            verb = "updateData"
        else:
            verb = {"GET": "get", "PATCH": "update", "PUT": "update", "DELETE": "delete"}.get(method)
        if verb is None:
            return None
        return [Need(f"bigquery.tables.{verb}", f"{dataset}.{table}", dataset)]
    if _BQ_JOBS.match(rest):
        if method == "GET":
            return [Need("bigquery.jobs.create", f"projects/{project}", project)]  # its own jobs
        return job_needs(project, _job_config(body), rights)
    if _BQ_JOB.match(rest):
        return [Need("bigquery.jobs.create", f"projects/{project}", project)]  # a job it created: its state, results
    return None


def _bigquery_error(identity: str, need: Need) -> tuple[int, str, bytes]:
    message = (f"Access Denied: {need.resource}: {identity} does not have {need.permission} permission "
               f"on {need.resource} (or it may not exist).")
    error = {"error": {"code": 403, "message": message, "status": "PERMISSION_DENIED",
                       "errors": [{"message": message, "domain": "global", "reason": "accessDenied"}]}}
    return 403, "application/json", json.dumps(error).encode()


@contextlib.contextmanager
def rights_bigquery_proxy(upstream: str, rights: Rights) -> Iterator[Gate]:
    """Serve a proxy to the BigQuery emulator at ``upstream`` that allows exactly ``rights``' BigQuery permissions
    (and, for a load job's gs:// sources, its storage permissions)."""
    gate = Gate(identity=rights.identity, endpoint="")

    def rights_of(scope: str) -> frozenset[str]:
        if scope.startswith("gs:"):
            return rights.storage(scope.removeprefix("gs:"))
        if "." in scope:
            return rights.bigquery(scope)
        return rights.project

    def decide(handler, method: str, path: str, query: dict, body: bytes):
        needs = bigquery_needs(method, path, query, body, rights)
        if needs is None:
            gate.unclassified.append(f"{method} {path}")
            return None
        missing = _check(gate, rights_of, needs, lambda n: True)
        if not missing:
            return None
        first = missing[0]
        gate.refused.append(f"{method} {first.resource}")
        gate.denied.append(f"{rights.identity} lacks {first.permission} on {first.resource} ({method} {path})")
        return _bigquery_error(rights.identity, first)

    with serving(upstream, decide, f"rights-bigquery-{rights.identity}") as endpoint:
        gate.endpoint = endpoint
        yield gate
