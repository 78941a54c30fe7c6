"""Every knob of the downloader in one dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from ie.api import RetryPolicy
from ie.download.validate import ImageOptions

DEFAULT_USER_AGENT = "internet-explorer/0.1 (research image crawler; honours X-Robots-Tag noai)"
# hosts whose published robot policy allows fewer parallel connections than ``per_host``
# (https://wikitech.wikimedia.org/wiki/Robot_policy: at most 2 concurrent requests to upload.wikimedia.org)
DEFAULT_HOST_LIMITS: tuple[tuple[str, int], ...] = (("upload.wikimedia.org", 2),)


def default_user_agent() -> str:
    """The downloader's User-Agent, with the operator's contact (``IE_CONTACT``) where set, as image hosts ask."""
    import os

    contact = os.environ.get("IE_CONTACT", "").strip()
    if not contact:
        return DEFAULT_USER_AGENT
    return f"internet-explorer/0.1 (research image crawler; contact: {contact}; honours X-Robots-Tag noai)"


@dataclass(frozen=True)
class DownloadOptions:
    """Downloader configuration. Times in seconds, sizes in bytes / pixels.

    Security defaults are on: ``allow_private_hosts=False`` refuses loopback/private/link-local targets;
    ``allowed_hosts`` opens single ``"host:port"`` (or ``"host"``) endpoints without opening everything.
    """

    # concurrency
    concurrency: int = 64  # HTTP requests in flight, all hosts together
    per_host: int = 16  # ... and per host:port
    host_limits: tuple[tuple[str, int], ...] = DEFAULT_HOST_LIMITS  # (hostname, at most) where a host asks fewer
    workers: int = 0  # decode workers; 0 = one per CPU core
    # "process": a decoder crash (hostile bytes hitting a C bug) costs one URL, not the run; measured as fast as
    # threads on 2 cores. "thread": no worker start-up (~0.5 s), for small batches and tests.
    executor: Literal["thread", "process"] = "thread"  # "process": a crashing C decoder costs one URL, not the run
    # timeouts
    connect_timeout: float = 10.0
    read_timeout: float = 20.0  # between two chunks of a response
    # the URL's whole budget: every attempt's connect, first byte and body, the backoff between attempts and the
    # redirect hops (time queued behind other URLs of the same host does not count); a trickling server loses the
    # URL after this, never holds a worker for a minute
    total_timeout: float = 25.0
    dns_timeout: float = 10.0
    # retries
    retries: int = 2  # extra attempts after connection errors, 408/425/429/5xx
    backoff_base: float = 0.5  # sleep base * 2**attempt * uniform(0.5, 1.5)
    backoff_max: float = 10.0
    max_retry_after: float = 30.0  # honour Retry-After up to this (and the URL's budget); a longer ask fails it
    max_redirects: int = 5
    # across runs: a later run (a re-run of `ie download`, `ie resume`) tries a transiently failed URL again, at
    # most max_attempts runs in all, the n-th retry no sooner than retry_backoff * 2**(n-1) s after the failure
    max_attempts: int = 3
    retry_backoff: float = 30.0
    # hardening
    max_bytes: int = 20_000_000  # of decoded body; larger bodies stop early -> too_large
    min_size: int = 32  # shorter side, source pixels
    max_aspect: float = 4.0
    max_pixels: int = 64_000_000  # decompression-bomb limit (header checked before decoding)
    allow_private_hosts: bool = False
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    respect_noai: bool = True
    # as img2dataset's disallowed_header_directives: an image whose X-Robots-Tag says so is not kept
    robots_directives: tuple[str, ...] = ("noai", "noimageai", "noindex", "noimageindex")
    robots_ua_token: str = "internet-explorer"
    # output
    resize_shorter: int | None = 256  # None or 0 = keep the source size
    jpeg_quality: int = 90
    hash_kind: Literal["phash", "dhash"] = "phash"
    phash_threshold: int = 4  # near-duplicate Hamming radius; -1 disables near-dup
    leak_threshold: int = 8
    user_agent: str = field(default_factory=default_user_agent)
    headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.allowed_hosts, frozenset):
            object.__setattr__(self, "allowed_hosts", frozenset(self.allowed_hosts))
        if self.concurrency < 1 or self.per_host < 1:
            raise ValueError("concurrency and per_host must be >= 1")

    def image_options(self) -> ImageOptions:
        return ImageOptions(min_size=self.min_size, max_aspect=self.max_aspect, max_pixels=self.max_pixels,
                            resize_shorter=self.resize_shorter or None, jpeg_quality=self.jpeg_quality,
                            hash_kind=self.hash_kind)

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.max_attempts, backoff=self.retry_backoff)

    def replace(self, **changes: object) -> DownloadOptions:
        return replace(self, **changes)  # type: ignore[arg-type]
