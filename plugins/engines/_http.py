"""Shared HTTP plumbing of the built-in engines: an httpx client with timeouts and a descriptive
User-Agent, and the mapping of HTTP failures to the typed errors of :mod:`ie.api.errors`.

Private to ``ie_plugins.engines``; imports only ``ie.api`` from ie.
"""

from __future__ import annotations

import email.utils
import html
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from ie.api import (
    AuthError,
    EngineError,
    TransientEngineError,
    MalformedResponseError,
    QuotaExceededError,
    RateLimitedError,
)
from ie.api import Option

PROJECT_URL = "https://github.com/internet-explorer/internet-explorer"


def version() -> str:
    try:
        import importlib.metadata

        return importlib.metadata.version("internet-explorer")
    except Exception:  # noqa: BLE001 - running from a checkout
        return "0"


# options every HTTP engine takes, beside SearchEngine's own
HTTP_OPTIONS = (
    Option("timeout", float, 30.0, "seconds per request (connect: 10)"),
    Option("contact", str, None, "an e-mail or URL for the User-Agent (default: $IE_CONTACT)"),
    Option("user_agent", str, None, "the whole User-Agent header instead"),
    Option("max_retry_after", float, None, "longest Retry-After wait honoured before giving up, in seconds"),
    Option("base_url", str, None, "the API endpoint (tests point it at a loopback server)"),
)

def user_agent(options: Mapping[str, Any] | None = None) -> str:
    """``internet-explorer/<version> (<project url>; <contact>)``, as the Wikimedia policy asks.

    The contact comes from ``options["contact"]`` or ``IE_CONTACT`` (an e-mail or a URL).
    """
    options = options or {}  # an engine's options (declared: user_agent, contact) or none
    if options.get("user_agent"):
        return str(options["user_agent"])
    contact = options.get("contact") or os.environ.get("IE_CONTACT") or "set IE_CONTACT to your e-mail"
    return f"internet-explorer/{version()} ({PROJECT_URL}; {contact}) httpx/{httpx.__version__}"


def make_client(options: Mapping[str, Any], headers: Mapping[str, str] | None = None,
                on_limits: Callable[[int | None, float | None], None] | None = None) -> httpx.Client:
    """An httpx client honouring ``options["timeout"]`` (seconds, default 30; connect 10). ``on_limits`` (e.g.
    :meth:`SearchEngine.observe_limits`) hears the quota every reply states (:func:`rate_limit`)."""
    timeout = float(options["timeout"])
    hooks: dict[str, list[Callable[[httpx.Response], None]]] = {}
    if on_limits is not None:
        def hear(response: httpx.Response) -> None:
            remaining, reset_after = rate_limit(response.headers)
            if remaining is not None:
                on_limits(remaining, reset_after)

        hooks["response"] = [hear]
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
        headers={"User-Agent": user_agent(options), "Accept": "application/json", **dict(headers or {})},
        follow_redirects=True, event_hooks=hooks,
    )


_PERIODS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0, "h": 3600.0, "hour": 3600.0,
            "d": 86400.0, "day": 86400.0}


def rate_limit(headers: Mapping[str, str], now: float | None = None) -> tuple[int | None, float | None]:
    """(requests remaining, seconds until the window resets) from a reply's headers; (None, None) when it states
    none. Reads the forms services send (hand-written: no library parses all of them):

    - IETF ``RateLimit-Remaining`` / ``RateLimit-Reset`` (delta seconds), and the one-header
      ``RateLimit: limit=10, remaining=0, reset=30`` or ``RateLimit: "default";r=0;t=30``;
    - ``X-RateLimit-Remaining`` / ``X-RateLimit-Reset`` (delta seconds, or a Unix time as GitHub sends);
    - Openverse's per scope ``X-RateLimit-Available-<scope>: 0`` with ``X-RateLimit-Limit-<scope>: 100/day``: the
      window (a day) is the longest the scope can take to refill.

    With several scopes the tightest wins: a spent one (its longest reset), else the fewest remaining."""
    lower = {k.lower(): v for k, v in headers.items()}
    scopes: list[tuple[int, float | None]] = []

    def reset_seconds(value: str | None) -> float | None:
        number = _number(value)
        if number is None:
            return None
        wall = time.time() if now is None else now
        return max(0.0, number - wall) if number > 1e9 else max(0.0, number)  # a Unix time, else a delta

    for prefix in ("ratelimit-", "x-ratelimit-"):
        remaining = _number(lower.get(prefix + "remaining"))
        if remaining is not None:
            scopes.append((int(remaining), reset_seconds(lower.get(prefix + "reset"))))
    if "ratelimit" in lower:
        fields = dict(re.findall(r"\b(remaining|reset|r|t)\s*=\s*([0-9.]+)", lower["ratelimit"]))
        remaining = _number(fields.get("remaining", fields.get("r")))
        if remaining is not None:
            scopes.append((int(remaining), reset_seconds(fields.get("reset", fields.get("t")))))
    for key, value in lower.items():
        if key.startswith("x-ratelimit-available-") and _number(value) is not None:
            limit = lower.get("x-ratelimit-limit-" + key[len("x-ratelimit-available-"):], "")
            period = _PERIODS.get(limit.split("/", 1)[1].strip().lower()) if "/" in limit else None
            scopes.append((int(_number(value) or 0), period))
    if not scopes:
        return None, None
    spent = [reset for remaining, reset in scopes if remaining <= 0]
    if spent:
        known = [reset for reset in spent if reset is not None]
        return 0, max(known) if known else None
    return min(remaining for remaining, _ in scopes), None


def _number(value: str | None) -> float | None:
    try:
        return float(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date. None when absent/garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def request(engine: str, client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Send a request; transport failures (timeouts, DNS, refused connections) become
    :class:`TransientEngineError`: the query fails, the engine stays in use."""
    try:
        return client.request(method, url, **kwargs)
    except httpx.TimeoutException as err:
        raise TransientEngineError(engine, f"timed out talking to {url} ({type(err).__name__})") from err
    except httpx.HTTPError as err:
        raise TransientEngineError(engine, f"cannot reach {url}: {err}") from err


MAX_RETRY_AFTER = 300.0


def max_wait(options: Mapping[str, Any]) -> float:
    """Option ``max_retry_after``: the longest Retry-After worth waiting for (unset: 300 s)."""
    value = options.get("max_retry_after")
    return float(value) if value is not None else MAX_RETRY_AFTER


def raise_for_status(engine: str, response: httpx.Response, max_wait: float = MAX_RETRY_AFTER) -> None:
    """Map an HTTP error status to a typed error (2xx/3xx pass).

    A 429 whose ``Retry-After`` exceeds ``max_wait`` seconds means a spent daily quota, not a burst:
    :class:`QuotaExceededError` (stop), so no worker sleeps for hours inside the rate limiter.
    """
    status = response.status_code
    if status < 400:
        return
    text = response.text
    if "html" in response.headers.get("content-type", ""):  # an error page (Flickr's 429): its words, not its markup
        text = strip_html(_SCRIPT_OR_STYLE.sub(" ", text)) or ""
    detail = _short(text)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status in (401, 403):
        raise AuthError(engine, f"HTTP {status}: the service refused the credentials ({detail})")
    if status == 429 and retry_after is not None and retry_after > max_wait:
        raise QuotaExceededError(engine, f"HTTP 429, retry after {retry_after:.0f}s: quota spent ({detail})", retry_after)
    if status == 429:
        raise RateLimitedError(engine, f"HTTP 429 too many requests ({detail})", retry_after)
    if status == 503 and retry_after is not None:
        raise RateLimitedError(engine, f"HTTP 503, retry after {retry_after:.0f}s ({detail})", retry_after)
    if status >= 500:
        raise TransientEngineError(engine, f"HTTP {status} server error ({detail})")
    raise EngineError(engine, f"HTTP {status} ({detail})")


def json_body(engine: str, response: httpx.Response) -> Any:
    """The decoded JSON body or a :class:`MalformedResponseError`."""
    try:
        return response.json()
    except ValueError as err:
        raise MalformedResponseError(engine, f"response is not JSON: {_short(response.text)!r}") from err


def get_json(
    engine: str, client: httpx.Client, method: str, url: str, max_wait: float = MAX_RETRY_AFTER, **kwargs: Any
) -> Any:
    """request + raise_for_status + json_body."""
    response = request(engine, client, method, url, **kwargs)
    raise_for_status(engine, response, max_wait)
    return json_body(engine, response)


def expect(engine: str, value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    """``value`` if it is a ``kind``, else a :class:`MalformedResponseError` naming ``what``."""
    if not isinstance(value, kind):
        raise MalformedResponseError(engine, f"expected {what}, got {type(value).__name__}")
    return value


def as_int(value: Any) -> int | None:
    """int(value) or None (services send sizes as numbers or strings)."""
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


_TAG = re.compile(r"<[^>]+>")
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def strip_html(text: Any) -> str | None:
    """Plain text from a snippet of HTML (Wikimedia's extmetadata values are HTML)."""
    if text in (None, ""):
        return None
    return " ".join(html.unescape(_TAG.sub(" ", str(text))).split()) or None


def _short(text: str, n: int = 200) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 3] + "..."
