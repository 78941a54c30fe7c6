"""Async HTTP fetching: limits, timeouts, retries, redirects through the SSRF guard, bounded bodies."""

from __future__ import annotations

import asyncio
import email.utils
import random
import ssl
import time
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy

import httpx

from ie.api import Outcome
from ie.api.types import TRANSIENT_STATUS
from ie.download.guard import Target, UrlGuard, parse_url
from ie.download.options import DownloadOptions

REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
CONNECTIONS_PER_CLIENT = 8  # see Fetcher.__init__
_SSL_CONTEXT: ssl.SSLContext | None = None


def _ssl_context() -> ssl.SSLContext:
    """One verifying context for all clients (loading the CA bundle costs ~25 ms each time)."""
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        _SSL_CONTEXT = httpx.create_ssl_context()
    return _SSL_CONTEXT


class FetchError(Exception):
    """A URL that failed for good: what to record."""

    def __init__(self, outcome: Outcome, reason: str, status: int | None = None, nbytes: int = 0):
        super().__init__(reason)
        self.outcome, self.reason, self.status, self.nbytes = outcome, reason, status, nbytes


class _Retry(Exception):
    """An attempt that may succeed if repeated; ``error`` is recorded when retries run out."""

    def __init__(self, error: FetchError, retry_after: float | None = None):
        super().__init__(error.reason)
        self.error, self.retry_after = error, retry_after


@dataclass(frozen=True)
class Fetched:
    url: str
    final_url: str
    status: int
    body: bytes
    content_type: str


def robots_disallows(values: list[str], directives: tuple[str, ...], ua_token: str) -> bool:
    """Whether X-Robots-Tag values forbid AI use, honouring ``"<bot>: noai"`` scoping to other crawlers."""
    wanted = {d.lower() for d in directives}
    for value in values:
        v = value.strip().lower()
        head, sep, rest = v.partition(":")
        if sep and head.strip() and not any(ch in head for ch in " ,"):
            if head.strip() not in (ua_token.lower(), "*"):
                continue  # addressed to another crawler
            v = rest
        if any(token.strip() in wanted for token in v.split(",")):
            return True
    return False


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Fetcher:
    """One HTTP client for a batch: keep-alive pool, global and per-host limits, guard on every hop."""

    def __init__(self, options: DownloadOptions, guard: UrlGuard | None = None):
        self.o = options
        self.guard = guard or UrlGuard(allow_private_hosts=options.allow_private_hosts,
                                       allowed_hosts=options.allowed_hosts, dns_timeout=options.dns_timeout)
        # httpcore's pool scans every connection on each request (O(connections) syscalls per request): at 64
        # connections that is more CPU than decoding the image. So: several small clients, and a request
        # takes a slot token that names its client (LIFO, so warm keep-alive connections get reused).
        per_client = min(options.concurrency, CONNECTIONS_PER_CLIENT)
        n_clients = -(-options.concurrency // per_client)
        self.clients = [self._client(per_client) for _ in range(n_clients)]
        self._free = [i % n_clients for i in range(options.concurrency)][::-1]
        self._global = asyncio.Semaphore(options.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._paused_until: dict[str, float] = {}
        self._headers = {"User-Agent": options.user_agent, "Accept": "image/*,*/*;q=0.5",
                         "Accept-Encoding": "gzip, deflate", **dict(options.headers)}

    def _client(self, connections: int) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections,
                                keepalive_expiry=30),
            timeout=httpx.Timeout(connect=self.o.connect_timeout, read=self.o.read_timeout,
                                  write=self.o.read_timeout, pool=None),
            follow_redirects=False,  # each hop goes through the guard
            trust_env=False,  # no proxies / .netrc from the environment: we connect to checked addresses
            verify=_ssl_context(),
        )
        client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # never keep cookies
        return client

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients), return_exceptions=True)

    @asynccontextmanager
    async def _slot(self, host_key: str) -> AsyncIterator[httpx.AsyncClient]:
        """Host slot first, then a global slot: a busy host never holds global slots while it waits."""
        pause = self._paused_until.get(host_key, 0.0) - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        sem = self._hosts.get(host_key)
        if sem is None:
            hostname = host_key.rsplit(":", 1)[0]
            limit = min([self.o.per_host, *(n for host, n in self.o.host_limits if host == hostname)])
            sem = self._hosts[host_key] = asyncio.Semaphore(limit)
        async with sem, self._global:
            token = self._free.pop()
            try:
                yield self.clients[token]
            finally:
                self._free.append(token)

    async def fetch(self, url: str) -> Fetched:
        """GET ``url`` to a bounded body; raises Blocked or FetchError with the reason to record."""
        target = await self.guard.check(parse_url(url))
        seen = {str(target.url)}
        attempt = 0
        budget = self.o.total_timeout  # seconds left for this URL (see DownloadOptions.total_timeout)
        while True:
            if budget <= 0:
                raise FetchError(Outcome.TIMEOUT, "timeout_total")
            try:
                async with self._slot(target.host_key) as client:
                    started = time.monotonic()
                    try:
                        result = await self._attempt(client, url, target, budget)
                    finally:
                        budget -= time.monotonic() - started
            except _Retry as retry:
                if attempt >= self.o.retries:
                    raise retry.error from None
                if retry.retry_after is not None:
                    if retry.retry_after > min(self.o.max_retry_after, budget):
                        raise retry.error from None  # asked to wait longer than we will: give up politely
                    delay = retry.retry_after
                    self._paused_until[target.host_key] = time.monotonic() + delay
                else:
                    delay = min(self.o.backoff_max, self.o.backoff_base * 2 ** attempt * random.uniform(0.5, 1.5))
                    if delay >= budget:
                        raise retry.error from None  # no time left for another attempt
                attempt += 1
                budget -= delay
                await asyncio.sleep(delay)
                continue
            if isinstance(result, Fetched):
                return result
            # a redirect: resolve against the current URL, check the new hop like a fresh URL
            if len(seen) > self.o.max_redirects:
                raise FetchError(Outcome.TOO_MANY_REDIRECTS, "too_many_redirects")
            try:
                nxt = target.url.join(result)
            except (httpx.InvalidURL, ValueError, TypeError):
                raise FetchError(Outcome.INVALID_URL, "invalid_redirect_url") from None
            if str(nxt) in seen:
                raise FetchError(Outcome.TOO_MANY_REDIRECTS, "redirect_loop")
            seen.add(str(nxt))
            target = await self.guard.check(parse_url(str(nxt)))
            attempt = 0

    async def _attempt(self, client: httpx.AsyncClient, url: str, target: Target, budget: float) -> Fetched | str:
        """One request within ``budget`` seconds: the body, or a redirect Location; raises _Retry / FetchError."""
        headers = {**self._headers, "Host": target.url.netloc.decode("ascii")}
        extensions = {}
        if target.url.scheme == "https":
            extensions["sni_hostname"] = target.url.raw_host.decode("ascii")
        try:
            async with asyncio.timeout(budget):
                async with client.stream("GET", target.connect_url(), headers=headers,
                                              extensions=extensions) as resp:
                    return await self._read(url, target, resp)
        except TimeoutError:
            raise FetchError(Outcome.TIMEOUT, "timeout_total") from None
        except httpx.ConnectTimeout:
            raise _Retry(FetchError(Outcome.TIMEOUT, "timeout_connect")) from None
        except httpx.TimeoutException:
            raise FetchError(Outcome.TIMEOUT, "timeout_read") from None
        except httpx.ConnectError as exc:
            reason = "connection_refused" if "refused" in str(exc).lower() else "connection_error"
            raise _Retry(FetchError(Outcome.CONNECTION_ERROR, reason)) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise _Retry(FetchError(Outcome.CONNECTION_ERROR, f"connection_{type(exc).__name__}")) from None
        except httpx.HTTPError as exc:
            raise FetchError(Outcome.CONNECTION_ERROR, f"http_{type(exc).__name__}") from None

    async def _read(self, url: str, target: Target, resp: httpx.Response) -> Fetched | str:
        status = resp.status_code
        if status in REDIRECT_STATUS and "location" in resp.headers:
            return resp.headers["location"]
        if status != 200:
            error = FetchError(Outcome.HTTP_ERROR, f"http_{status}", status)
            if status in TRANSIENT_STATUS:
                after = parse_retry_after(resp.headers.get("retry-after")) if status in (429, 503) else None
                raise _Retry(error, after)
            raise error
        if self.o.respect_noai and robots_disallows(resp.headers.get_list("x-robots-tag"),
                                                    self.o.robots_directives, self.o.robots_ua_token):
            raise FetchError(Outcome.ROBOTS_NOAI, "robots_noai", status)
        body = await self._read_body(resp)
        return Fetched(url=url, final_url=str(target.url), status=status, body=body,
                       content_type=resp.headers.get("content-type", ""))

    async def _read_body(self, resp: httpx.Response) -> bytes:
        """The decoded body, stopping as soon as it passes max_bytes (compressed bombs included).

        Content-Encoding is decoded here, not by httpx, so the limit applies to each inflate step's output.
        """
        limit = self.o.max_bytes
        codings = [c.strip().lower() for c in resp.headers.get("content-encoding", "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise FetchError(Outcome.NOT_IMAGE, "unsupported_content_encoding", resp.status_code)
        length = resp.headers.get("content-length", "")
        if not codings and length.isdigit() and int(length) > limit:
            raise FetchError(Outcome.TOO_LARGE, "too_large_content_length", resp.status_code)
        inflater = zlib.decompressobj(47) if codings else None  # 47: zlib or gzip header, auto-detected
        parts: list[bytes] = []
        total = 0
        async for chunk in resp.aiter_raw():
            if inflater is not None:
                try:
                    chunk = inflater.decompress(chunk, limit - total + 1)
                except zlib.error:
                    raise FetchError(Outcome.DECODE_ERROR, "bad_content_encoding", resp.status_code) from None
            total += len(chunk)
            if total > limit:
                raise FetchError(Outcome.TOO_LARGE, "too_large", resp.status_code, total)
            parts.append(chunk)
        return b"".join(parts)
