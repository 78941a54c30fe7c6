"""SSRF guard: which URLs the downloader may fetch, checked on the first request and on every redirect hop.

A URL passes when its scheme is http(s), it parses, its host resolves, and *every* address it resolves to is
public. The downloader then connects to the checked address itself (Host header / TLS SNI keep the name), so
a second DNS answer cannot swap in a private address between the check and the connect (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from ie.api import Outcome

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not global, not "private" in every Python
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Blocked(Exception):
    """A URL the guard refuses; ``outcome`` and ``reason`` are what gets recorded."""

    def __init__(self, outcome: Outcome, reason: str):
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


def classify_ip(ip: IPAddress | str) -> str | None:
    """Why ``ip`` is not a public unicast address (``"loopback"``, ``"link_local"``, ...), or None if it is.

    IPv6 forms that embed an IPv4 address (IPv4-mapped, NAT64, 6to4, Teredo) are judged by the embedded address.
    """
    ip = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if isinstance(ip, ipaddress.IPv6Address):
        embedded: ipaddress.IPv4Address | None = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip.teredo is not None:
            embedded = ip.teredo[1]
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return classify_ip(embedded)
        if ip in _NAT64_LOCAL:
            return "private"
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link_local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private or (ip.version == 4 and ip in _SHARED)),
        ("reserved", ip.is_reserved),
        ("not_global", not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)


@dataclass(frozen=True)
class Target:
    """A checked hop: the URL as given, and the address to connect to."""

    url: httpx.URL
    ip: str
    host_key: str  # "host:port", the unit of per-host limits

    def connect_url(self) -> httpx.URL:
        """The URL with its host replaced by the checked address (the Host header keeps the name)."""
        return self.url.copy_with(host=self.ip)


def parse_url(raw: str) -> httpx.URL:
    """Parse and normalise ``raw``; raises Blocked(INVALID_URL / BLOCKED_SCHEME)."""
    if not isinstance(raw, str):
        raise Blocked(Outcome.INVALID_URL, "invalid_url_type")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise Blocked(Outcome.INVALID_URL, "invalid_url_encoding") from None
    raw = raw.strip()
    if not raw or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in raw):
        raise Blocked(Outcome.INVALID_URL, "invalid_url_characters")
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise Blocked(Outcome.INVALID_URL, "invalid_url") from None
    if not url.scheme:
        raise Blocked(Outcome.INVALID_URL, "invalid_url_no_scheme")
    if url.scheme not in _DEFAULT_PORTS:
        raise Blocked(Outcome.BLOCKED_SCHEME, f"blocked_scheme_{url.scheme[:16]}")
    if not url.host:
        raise Blocked(Outcome.INVALID_URL, "invalid_url_no_host")
    if url.userinfo:
        raise Blocked(Outcome.INVALID_URL, "invalid_url_userinfo")  # credentials in URLs: never sent
    return url


class UrlGuard:
    """Checks URLs and resolves their hosts, with a small per-run DNS cache.

    ``allow_private_hosts`` turns the address check off (schemes are still checked). ``allowed_hosts`` opens
    single endpoints: ``"127.0.0.1:8080"`` (that port only) or ``"intranet.example"`` (any port); an entry
    matches the URL's host name or a resolved address, so the simweb loopback server can be allowed while
    127.0.0.1 on any other port, and 169.254.169.254, stay blocked.
    """

    def __init__(
        self,
        *,
        allow_private_hosts: bool = False,
        allowed_hosts: Iterable[str] = (),
        dns_timeout: float = 10.0,
        dns_cache_seconds: float = 300.0,
    ):
        self.allow_private_hosts = allow_private_hosts
        self.allowed = {_normalise_entry(h) for h in allowed_hosts}
        self.dns_timeout = dns_timeout
        self.dns_cache_seconds = dns_cache_seconds
        self._cache: dict[tuple[str, int], tuple[float, list[str]]] = {}

    def _is_allowed(self, name: str, port: int) -> bool:
        return (name, port) in self.allowed or (name, None) in self.allowed

    async def resolve(self, host: str, port: int) -> list[str]:
        """Addresses of ``host`` (an IP literal resolves to itself); raises Blocked(DNS_ERROR)."""
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        key = (host, port)
        hit = self._cache.get(key)
        if hit and time.monotonic() - hit[0] < self.dns_cache_seconds:
            return hit[1]
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.dns_timeout):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError:
            raise Blocked(Outcome.DNS_ERROR, "dns_timeout") from None
        except (socket.gaierror, UnicodeError, OSError):
            raise Blocked(Outcome.DNS_ERROR, "dns_error") from None
        addrs = list(dict.fromkeys(str(ipaddress.ip_address(info[4][0].split("%")[0])) for info in infos))
        if not addrs:
            raise Blocked(Outcome.DNS_ERROR, "dns_error")
        self._cache[key] = (time.monotonic(), addrs)
        return addrs

    async def check(self, raw: str | httpx.URL) -> Target:
        """Validate one hop; returns where to connect, or raises Blocked."""
        url = raw if isinstance(raw, httpx.URL) else parse_url(raw)
        if url.scheme not in _DEFAULT_PORTS:
            raise Blocked(Outcome.BLOCKED_SCHEME, f"blocked_scheme_{url.scheme[:16]}")
        host = url.host.lower().rstrip(".")
        port = url.port or _DEFAULT_PORTS[url.scheme]
        if not host:
            raise Blocked(Outcome.INVALID_URL, "invalid_url_no_host")
        addrs = await self.resolve(host, port)
        if not self.allow_private_hosts and not self._is_allowed(host, port):
            for addr in addrs:
                why = classify_ip(addr)
                if why is not None and not self._is_allowed(addr, port):
                    raise Blocked(Outcome.BLOCKED_PRIVATE_ADDRESS, f"blocked_{why}")
        # Connect to an IPv4 address when there is one: many hosts resolve AAAA without an IPv6 route.
        ip = next((a for a in addrs if ":" not in a), addrs[0])
        return Target(url=url, ip=ip, host_key=f"{host}:{port}")


def _normalise_entry(entry: str) -> tuple[str, int | None]:
    """``"host:port"`` / ``"[v6]:port"`` / ``"host"`` -> (host, port or None)."""
    entry = entry.strip().lower()
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest.lstrip(":")
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    else:
        host, port = entry, ""
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        host = host.rstrip(".")
    return host, int(port) if port else None
