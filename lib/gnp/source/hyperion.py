"""Client for EETT's Hyperion speed tests on data.gov.gr.

Fetches measurement days, one day (or ``days_per_request`` days) per request,
with bounded concurrency. Transient failures (timeouts, dropped connections,
429, 5xx, a body that is not one complete JSON array) are retried with
exponential backoff and jitter; a refused request (400, 401, 403, 404) fails
at once with what to do. Every day comes back as the exact bytes received.

The token is optional: since mid-2025 data.gov.gr appears to serve the query
without one, so a client without a token sends no ``Authorization`` header at
all. A token, when given, goes only into that header: never into a URL, a
message, a log line, a repr or a result.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence
from urllib.parse import quote, quote_plus

import requests
from requests.adapters import HTTPAdapter
from tqdm import tqdm

from gnp.core.config import SourceParams, api_token, plain_http_problem, secret_text_problem
from gnp.core.errors import GnpError
from gnp.source.hyperion_body import BodyError, measurement_day, parse_records, split_by_day

log = logging.getLogger(__name__)

AUTH_HEADER = "Authorization"
AUTH_SCHEME = "Token"
DATE_FROM, DATE_TO = "date_from", "date_to"
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
AUTH_STATUSES = frozenset({401, 403})
MAX_RETRY_AFTER_S = 300.0  # a Retry-After is honoured up to this, so a bogus one cannot stall a run
SNIPPET_CHARS = 200
MIN_SCRUB_CHARS = 8  # a stripped token shorter than this is not scrubbed on its own (it would mangle text)


class HyperionError(GnpError):
    """The API could not be read; the message says what to do."""


class HyperionAuthError(HyperionError):
    """The token is unusable, was refused, or the endpoint asked for one (401/403): retrying will not help."""


class HyperionRequestError(HyperionError):
    """The request itself was refused (400, 404, ...): retrying will not help."""


class HyperionFetchError(HyperionError):
    """Days that still failed after every retry; ``days`` lists them."""

    def __init__(self, message: str, days: Sequence[dt.date]):
        super().__init__(message)
        self.days = tuple(days)


class _Transient(Exception):
    def __init__(self, reason: str, retry_after_s: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


class _Cancelled(Exception):
    """Another request failed for good; this one stops early."""


def _escaped_forms(value: str) -> list[str]:
    """The ways ``value`` can show up in text: as is, repr- and JSON-escaped, URL-encoded, and those
    nested once more (a repr inside a JSON notebook output); longest first, so replacing them in order
    leaves no fragment."""
    forms = {value, value.strip()} if len(value.strip()) >= MIN_SCRUB_CHARS else {value}
    for _ in range(2):
        forms |= {
            form
            for text in forms
            for form in (repr(text)[1:-1], json.dumps(text)[1:-1], quote(text, safe=""), quote_plus(text, safe=""))
        }
    return sorted((f for f in forms if f), key=len, reverse=True)


class _Secret:
    """Holds the token so that printing, logging or repr never shows it."""

    __slots__ = ("_value", "_forms")

    def __init__(self, value: str | None):
        self._value = value or ""
        self._forms = _escaped_forms(value) if value else []

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def reveal(self) -> str:
        return self._value

    def scrub(self, text: str) -> str:
        """``text`` with the token replaced, in every escaped form (see ``_escaped_forms``)."""
        for form in self._forms:
            text = text.replace(form, "<secret>")
        return text


@dataclass(frozen=True)
class DayFetch:
    """One measurement day as received."""

    day: dt.date
    body: bytes = field(repr=False)  # the exact bytes received (rebuilt array framing when split)
    status: int
    url: str  # the request, without the token
    fetched_at: dt.datetime  # UTC
    elapsed_s: float
    attempts: int
    record_count: int
    records_outside_day: int  # records whose measurement_time is not on this day (or unreadable)
    fields: tuple[str, ...]  # every field name seen, sorted
    response_sha256: str | None = None  # the whole answer, when this day was split from a multi-day one

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def chunk_days(days: Sequence[dt.date], size: int) -> list[list[dt.date]]:
    """Consecutive runs of days, cut into requests of at most ``size`` days."""
    chunks: list[list[dt.date]] = []
    for day in sorted(set(days)):
        last = chunks[-1] if chunks else None
        if last and len(last) < size and (day - last[-1]).days == 1:
            last.append(day)
        else:
            chunks.append([day])
    return chunks


def retry_after_s(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


def backoff_s(attempt: int, base_s: float, max_s: float, retry_after: float | None, rng: random.Random) -> float:
    """Wait before retry ``attempt`` (1-based): capped exponential with jitter, at least Retry-After."""
    delay = min(max_s, base_s * 2 ** (attempt - 1)) * rng.uniform(0.5, 1.0)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_S))
    return delay


def _label(days: Sequence[dt.date]) -> str:
    return str(days[0]) if len(days) == 1 else f"{days[0]}..{days[-1]}"


def _day_fetches(days, body, status, url, elapsed_s, attempts) -> list[DayFetch]:
    fetched_at = dt.datetime.now(dt.timezone.utc)
    if len(days) == 1:
        parts, whole = {days[0]: (body, parse_records(body))}, None
    else:
        parts, whole = split_by_day(body, days), hashlib.sha256(body).hexdigest()
    return [
        DayFetch(
            day=day,
            body=part,
            status=status,
            url=url,
            fetched_at=fetched_at,
            elapsed_s=round(elapsed_s, 3),
            attempts=attempts,
            record_count=len(recs),
            records_outside_day=sum(measurement_day(r) != day for r in recs),
            fields=tuple(sorted(set().union(*recs))),
            response_sha256=whole,
        )
        for day, (part, recs) in parts.items()
    ]


_SOURCE_SETTINGS = (
    "dataset",
    "token_env",
    "timeout_s",
    "max_retries",
    "backoff_s",
    "max_backoff_s",
    "concurrency",
    "days_per_request",
)


class HyperionClient:
    """Fetches Hyperion days from ``{base_url}/query/{dataset}``; use as a context manager.

    ``token`` None (or empty) sends requests without an ``Authorization`` header.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        dataset: str = "hyperion",
        token_env: str = "HYPERION_TOKEN",
        source_kind: str = "api",
        timeout_s: float = 60.0,
        max_retries: int = 5,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        concurrency: int = 4,
        days_per_request: int = 1,
        progress: bool = True,
    ):
        problem = secret_text_problem(token) if token else None
        if problem:  # requests would refuse the header with an error that quotes it, escaped
            raise HyperionAuthError(
                f"the API token from the environment variable {token_env} {problem}: strip them and set "
                f"{token_env} again (the value is not shown)"
            )
        insecure = plain_http_problem(base_url)
        if insecure:  # the params refuse it too; a base_url given here (the fake server's) is checked the same way
            raise HyperionRequestError(f"source.base_url {insecure}")
        self.url = f"{base_url.rstrip('/')}/query/{dataset}"
        self.token_env = token_env
        self.source_kind = source_kind
        self.timeout_s, self.max_retries = timeout_s, max_retries
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self.concurrency, self.days_per_request, self.progress = concurrency, days_per_request, progress
        self._token = _Secret(token)
        self._rng = random.Random()
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=concurrency, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    @classmethod
    def from_source(
        cls, source: SourceParams, token: str | None, *, base_url: str | None = None, progress: bool = True
    ) -> "HyperionClient":
        """A client configured by the ``source`` params (``base_url`` overrides, e.g. for the fake server)."""
        settings = source.model_dump(include=set(_SOURCE_SETTINGS))
        return cls(base_url or source.base_url, token, source_kind=source.kind, progress=progress, **settings)

    def __repr__(self) -> str:
        return (
            f"HyperionClient(url={self.url!r}, source_kind={self.source_kind!r}, "
            f"with_token={bool(self._token)}, concurrency={self.concurrency})"
        )

    def __enter__(self) -> "HyperionClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def fetch_days(self, days: Iterable[dt.date]) -> Iterator[DayFetch]:
        """Fetch days concurrently; yields each day as it arrives (not in order).

        Raises HyperionAuthError/HyperionRequestError at once, and HyperionFetchError
        at the end naming the days that failed every retry (the others were yielded).
        """
        days = sorted(set(days))
        if not days:
            return
        chunks = chunk_days(days, self.days_per_request)
        cancel = threading.Event()
        failures: list[HyperionFetchError] = []
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(chunks)), thread_name_prefix="hyperion")
        bar = tqdm(
            total=len(days), unit="day", desc=f"hyperion {self.source_kind}", disable=not self.progress, mininterval=1.0
        )
        try:
            futures = {pool.submit(self._fetch_chunk, chunk, cancel): chunk for chunk in chunks}
            for future in as_completed(futures):
                try:
                    fetched = future.result()
                except HyperionFetchError as exc:
                    failures.append(exc)
                    fetched = []
                bar.update(len(futures[future]))
                yield from fetched
        finally:
            cancel.set()
            pool.shutdown(wait=True, cancel_futures=True)
            bar.close()
        if failures:
            failed = sorted(d for exc in failures for d in exc.days)
            detail = "; ".join(str(exc) for exc in failures)
            raise HyperionFetchError(f"{len(failed)} of {len(days)} days could not be fetched: {detail}", failed)

    def _fetch_chunk(self, days: list[dt.date], cancel: threading.Event) -> list[DayFetch]:
        label = _label(days)
        for attempt in range(1, self.max_retries + 2):
            if cancel.is_set():
                raise _Cancelled()
            try:
                status, body, url, elapsed = self._get(days[0], days[-1])
                return _day_fetches(days, body, status, url, elapsed, attempt)
            except _Transient as exc:
                last = exc
            except BodyError as exc:  # truncated or not JSON: never stored, fetched again
                last = _Transient(str(exc))
            if attempt > self.max_retries:
                break
            delay = backoff_s(attempt, self.backoff_s, self.max_backoff_s, last.retry_after_s, self._rng)
            log.warning(
                "hyperion %s: %s; retry %d of %d in %.1f s", label, last.reason, attempt, self.max_retries, delay
            )
            if cancel.wait(delay):
                raise _Cancelled()
        raise HyperionFetchError(
            f"{label} failed {attempt} attempts, last: {last.reason}. The service may be down or throttling: "
            "try again later (days already stored are skipped), or raise source.max_retries / lower "
            "source.concurrency",
            days,
        )

    def _get(self, first: dt.date, last: dt.date) -> tuple[int, bytes, str, float]:
        params = {DATE_FROM: first.isoformat(), DATE_TO: last.isoformat()}
        url = requests.Request("GET", self.url, params=params).prepare().url
        headers = {"Accept": "application/json"}
        if self._token:
            headers[AUTH_HEADER] = f"{AUTH_SCHEME} {self._token.reveal()}"
        start = time.monotonic()
        try:
            response = self._session.get(self.url, params=params, headers=headers, timeout=self.timeout_s)
            body = response.content
        except (
            requests.Timeout,
            requests.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            raise _Transient(f"{type(exc).__name__}: {self._token.scrub(str(exc))}") from None
        except requests.RequestException as exc:
            raise HyperionRequestError(
                f"{url}: {type(exc).__name__}: {self._token.scrub(str(exc))}; check source.base_url"
            ) from None
        elapsed = time.monotonic() - start
        status = response.status_code
        if 200 <= status < 300:
            return status, body, url, elapsed
        snippet = self._token.scrub(body[:SNIPPET_CHARS].decode("utf-8", "replace"))
        if status in AUTH_STATUSES and self._token:
            raise HyperionAuthError(
                f"HTTP {status} from {url}: data.gov.gr refused the token; check that the environment "
                f"variable {self.token_env} holds a valid data.gov.gr API token ({snippet})"
            )
        if status in AUTH_STATUSES:
            raise HyperionAuthError(
                f"HTTP {status} from {url}: the endpoint asked for a token and none was sent; set the "
                f"environment variable {self.token_env} to your data.gov.gr API token and run again ({snippet})"
            )
        if status in RETRY_STATUSES:
            raise _Transient(f"HTTP {status}: {snippet}", retry_after_s(response.headers.get("Retry-After")))
        hint = "check source.base_url and source.dataset"
        if status != 404:
            hint = "check the dates (YYYY-MM-DD, date_from <= date_to) and source.base_url"
        raise HyperionRequestError(f"HTTP {status} from {url}: {snippet}; {hint}")


OpenClient = Callable[..., AbstractContextManager[HyperionClient]]  # (SourceParams, *, progress) -> client


def open_api_client(source: SourceParams, *, progress: bool = True) -> HyperionClient:
    """A client of the real API, with the token from ``source.token_env`` if that is set (see ``api_token``)."""
    if source.kind != "api":
        raise HyperionError(
            f"source.kind is {source.kind!r}, not 'api': the sample source is served on loopback, "
            "open its client with gnp.source.fake_api.open_sample_client (gnp.bronze.ingest.client_opener chooses)"
        )
    return HyperionClient.from_source(source, api_token(source), progress=progress)
