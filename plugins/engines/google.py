"""Google image search through the Custom Search JSON API (google-api-python-client, ``customsearch`` v1).

**Deprecated by Google:** the Custom Search JSON API is closed to new customers, and Google turns it
off for existing ones on 2027-01-01. From that date this engine raises :class:`EngineUnavailableError`
without calling Google. Prefer openverse, wikimedia, flickr or a self-hosted laion backend.

Each query returns at most 100 results (``num`` <= 10 per call, ``start`` <= 91). The free tier is 100
queries per day. Env: ``GOOGLE_API_KEY`` and ``GOOGLE_CSE_ID`` (a Programmable Search Engine id with
image search on). Options: ``base_url`` (API root, e.g. a loopback server), ``http`` (an httplib2.Http
or googleapiclient.http.HttpMock), ``rights``/``safe``/``imgSize``/``imgType`` (passed through),
``today`` (a date or ISO string; tests), ``rate_per_second``/``burst``, ``timeout``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ie.api import (
    AuthError,
    EngineError,
    EngineUnavailableError,
    TransientEngineError,
    Hit,
    MalformedResponseError,
    QuotaExceededError,
    RateLimitedError,
    SearchEngine,
    SearchPage,
    hookimpl,
    require_secrets,
)
from ie.api import HealthCheck, Option, Quota, secrets_detail
from ie_plugins.engines import _http

SHUTDOWN = dt.date(2027, 1, 1)
NOTICE = "Google closed the Custom Search JSON API to new customers and turns it off on 2027-01-01"
QUOTA_REASONS = {"dailyLimitExceeded", "rateLimitExceeded", "quotaExceeded", "dailyLimitExceededUnreg"}
AUTH_REASONS = {"keyInvalid", "keyExpired", "API_KEY_INVALID", "API_KEY_EXPIRED", "authError", "forbidden"}
CLOSED_REASONS = {"accessNotConfigured", "SERVICE_DISABLED", "API_KEY_SERVICE_BLOCKED"}
PASSTHROUGH = ("rights", "safe", "imgSize", "imgType", "imgColorType", "imgDominantColor", "fileType", "gl", "lr")


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def seconds_to_pacific_midnight(now: dt.datetime | None = None) -> float:
    """Seconds until the daily quota of Google's APIs resets: midnight Pacific Time (Cloud console, "Quotas")."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        pacific = ZoneInfo("America/Los_Angeles")
    except ZoneInfoNotFoundError:  # no tz database: a day is the longest it can take
        return 86400.0
    local = (now or dt.datetime.now(dt.timezone.utc)).astimezone(pacific)
    midnight = (local + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(60.0, (midnight - local).total_seconds())


class GoogleEngine(SearchEngine):
    """Custom Search JSON API with ``searchType=image``; at most 100 results per query."""

    name: ClassVar[str] = "google"
    max_per_page: ClassVar[int] = 10
    max_results: ClassVar[int | None] = 100
    default_rate_per_second: ClassVar[float] = 1.0
    default_burst: ClassVar[float] = 2.0
    today: Callable[[], dt.date] = staticmethod(dt.date.today)

    SECRETS = ("GOOGLE_API_KEY", "GOOGLE_CSE_ID")
    OPTIONS = SearchEngine.OPTIONS + _http.HTTP_OPTIONS + (
        Option("today", str, None, "the date the shutdown notice is computed against (tests)"),
        Option("http", object, None, "an httplib2.Http (tests: googleapiclient's HttpMock)"),
        *(Option(key, str, None, "passed to the Custom Search API as is") for key in PASSTHROUGH),
    )
    QUOTAS = (Quota("google", 10, 1.0, 100, "the paper's engine; closed to new customers, off 2027-01-01; "
                                         "100 free queries/day, paid up to 10,000/day"),)

    @classmethod
    def health(cls, secrets: Mapping[str, str], today: dt.date) -> list[HealthCheck]:
        ok = all(secrets.get(n, "missing") != "missing" for n in cls.SECRETS)
        retired = today >= SHUTDOWN
        detail = secrets_detail(secrets, cls.SECRETS) + (
            "; the Custom Search JSON API was turned off on 2027-01-01" if retired
            else "; closed to new customers, turned off on 2027-01-01")
        return [HealthCheck("engine google", "ok" if ok and not retired else "warn", detail,
                            "use flickr, openverse or wikimedia instead" if retired or not ok else "")]

    @classmethod
    def probe_url(cls) -> str | None:
        return "https://customsearch.googleapis.com/customsearch/v1"

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        if self.options["today"] is not None:
            fixed = _date(self.options["today"])
            self.today = lambda: fixed
        self.check_available()
        self.api_key, self.cse_id = require_secrets(
            self.name, ["GOOGLE_API_KEY", "GOOGLE_CSE_ID"], self.options, hint=NOTICE
        )
        self._service: Any = None

    def check_available(self) -> None:
        if self.today() >= SHUTDOWN:
            raise EngineUnavailableError(self.name, f"{NOTICE}; it is no longer available. Use another engine.")

    def service(self) -> Any:
        if self._service is None:
            import httplib2
            from googleapiclient.discovery import build

            http = self.options["http"] or httplib2.Http(timeout=float(self.options["timeout"]))
            client_options = {"api_endpoint": str(self.options["base_url"])} if self.options["base_url"] else None
            self._service = build(
                "customsearch", "v1", developerKey=self.api_key, http=http, static_discovery=True,
                cache_discovery=False, client_options=client_options,
            )
        return self._service

    def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
        self.check_available()
        from googleapiclient.errors import HttpError

        num = max(1, min(per_page, self.max_per_page))
        start = (page - 1) * num + 1
        if start > 100 - num + 1:  # the API refuses start + num > 101
            return SearchPage([], has_more=False)
        params = {k: self.options[k] for k in PASSTHROUGH if self.options[k] not in (None, "")}
        request = self.service().cse().list(q=query, cx=self.cse_id, searchType="image", num=num, start=start, **params)
        try:
            data = request.execute(num_retries=0)
        except HttpError as err:
            raise self._error(err) from err
        except (OSError, TimeoutError) as err:
            raise TransientEngineError(self.name, f"cannot reach the Custom Search API: {err}") from err
        except Exception as err:  # httplib2.HttpLib2Error and friends
            if type(err).__module__.startswith("httplib2"):
                raise TransientEngineError(self.name, f"transport error: {err}") from err
            raise
        data = _http.expect(self.name, data, dict, "a JSON object")
        items = _http.expect(self.name, data.get("items", []), list, "'items' list")
        hits = [self._hit(item, query, i) for i, item in enumerate(items)]
        next_page = (data.get("queries") or {}).get("nextPage")
        return SearchPage(hits, has_more=bool(next_page) and bool(items) and start + num <= 100 - num + 1)

    def _hit(self, item: Any, query: str, rank: int) -> Hit:
        if not isinstance(item, dict) or not item.get("link"):
            raise MalformedResponseError(self.name, "an item has no 'link'")
        image = item.get("image") or {}
        return Hit(
            url=str(item["link"]), engine=self.name, query=query, rank=rank,
            thumbnail_url=image.get("thumbnailLink"), title=item.get("title") or item.get("snippet"),
            source_page=image.get("contextLink"), width=_http.as_int(image.get("width")),
            height=_http.as_int(image.get("height")),
            extra={k: v for k, v in (("mime", item.get("mime")), ("displayLink", item.get("displayLink"))) if v},
        )

    def _error(self, err: Any) -> Exception:
        status = int(getattr(err.resp, "status", 0) or 0)
        reasons, message = _reasons(err.content)
        text = f"HTTP {status} {', '.join(sorted(reasons)) or ''}: {message or err.reason}".replace("  ", " ")
        retry_after = _http.parse_retry_after(err.resp.get("retry-after"))
        if reasons & CLOSED_REASONS or "does not have the access" in message:
            return EngineUnavailableError(self.name, f"{text} ({NOTICE}; new projects cannot enable it)")
        if status == 429:
            if "per day" in message.lower():
                return QuotaExceededError(self.name, text + " (daily quota spent; it resets at midnight Pacific)",
                                          seconds_to_pacific_midnight())
            return RateLimitedError(self.name, text, retry_after)
        if status == 403 and reasons & QUOTA_REASONS:
            return QuotaExceededError(self.name, text + " (daily quota spent; it resets at midnight Pacific)",
                                      retry_after if retry_after is not None else seconds_to_pacific_midnight())
        if status in (401, 403) or (status == 400 and (reasons & AUTH_REASONS or "API key not valid" in message)):
            return AuthError(self.name, text + " (check GOOGLE_API_KEY and GOOGLE_CSE_ID)")
        if status >= 500:
            return TransientEngineError(self.name, text)
        return EngineError(self.name, text)

    def close(self) -> None:
        if self._service is not None:
            self._service.close()


def _reasons(content: bytes) -> tuple[set[str], str]:
    """The ``reason`` strings and the message of a Google API error body."""
    try:
        error = json.loads(content.decode("utf-8")).get("error", {})
    except (ValueError, AttributeError, UnicodeDecodeError):
        return set(), ""
    if not isinstance(error, dict):
        return set(), str(error)
    reasons = {e.get("reason") for e in error.get("errors", []) if isinstance(e, dict)}
    reasons |= {d.get("reason") for d in error.get("details", []) if isinstance(d, dict)}
    if error.get("status"):
        reasons.add(error["status"])
    return {r for r in reasons if r}, str(error.get("message", ""))


@hookimpl
def ie_register_engines(register: Any) -> None:
    register(
        "google", GoogleEngine,
        help="Google Custom Search image search (GOOGLE_API_KEY, GOOGLE_CSE_ID); closed to new customers, off 2027-01-01",
    )
