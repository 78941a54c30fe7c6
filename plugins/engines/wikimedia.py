"""Wikimedia Commons image search through the MediaWiki Action API (keyless).

One request per page: ``generator=search`` over the File namespace (``gsrsearch="<q> filetype:bitmap"``)
plus ``prop=imageinfo`` for URLs, sizes, MIME type and ``extmetadata`` (LicenseShortName, LicenseUrl, Artist).
Pages continue with the ``continue`` object the API returns. Wikimedia's User-Agent policy asks for a
descriptive agent with contact details: set ``IE_CONTACT`` (or option ``contact``) to your e-mail or URL.

Options: ``base_url`` (default https://commons.wikimedia.org/w/api.php), ``thumb_width`` (default 500, one of
Wikimedia's standard thumbnail steps: the hit's URL is that thumbnail, which its CDN serves from cache, never the
full-size original, often over the downloader's 20 MB cap; the original stays in ``extra["original_url"]``),
``filetype`` (default "bitmap"), ``contact`` (required, or ``IE_CONTACT``: Wikimedia's User-Agent policy),
``rate_per_second`` / ``burst`` (default 1/s: Wikimedia asks clients to make requests in series), ``timeout``.
"""

from __future__ import annotations

import math

import os
import threading
from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar

from ie.api import (
    AuthError,
    MissingCredentialsError,
    EngineError,
    Hit,
    MalformedResponseError,
    RateLimitedError,
    SearchEngine,
    SearchPage,
    hookimpl,
)
from ie.api import HealthCheck, Option, Quota
from ie_plugins.engines import _http

API_URL = "https://commons.wikimedia.org/w/api.php"


DEFAULT_THUMB_WIDTH = 500  # without --resize: a thumbnail step that serves 224-384 px training

class WikimediaEngine(SearchEngine):
    """Commons File-namespace search with imageinfo; license from LicenseShortName, attribution from Artist."""

    name: ClassVar[str] = "wikimedia"
    # Small pages keep imageinfo (thumbnails, extmetadata) in one batch without prop-continuation.
    max_per_page: ClassVar[int] = 50
    max_results: ClassVar[int | None] = 10000  # CirrusSearch refuses offsets past 10000
    default_rate_per_second: ClassVar[float] = 1.0
    default_burst: ClassVar[float] = 2.0

    OPTIONS = SearchEngine.OPTIONS + _http.HTTP_OPTIONS + (
        Option("thumb_width", int, None, "width of the thumbnail downloaded, rounded up to a standard step (default: "
                                         "the step that serves the run's --resize, else 500)"),
        Option("filetype", str, "bitmap", "MediaWiki filetype filter"),
        Option("maxlag", int, 5, "MediaWiki maxlag, seconds"),
    )
    QUOTAS = (Quota("wikimedia", 50, 1.0, None, "keyless; a much smaller, encyclopedic index"),)

    @classmethod
    def health(cls, secrets: Mapping[str, str], today: date) -> list[HealthCheck]:
        ok = bool(os.environ.get("IE_CONTACT"))
        return [HealthCheck("engine wikimedia", "ok" if ok else "warn", f"IE_CONTACT {'set' if ok else 'missing'}",
                            "" if ok else "export IE_CONTACT=you@example.org (Wikimedia's User-Agent policy)")]

    @classmethod
    def probe_url(cls) -> str | None:
        return API_URL

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        self.base_url = str(self.options["base_url"] or API_URL)
        if not (self.options["contact"] or self.options["user_agent"] or os.environ.get("IE_CONTACT")):
            raise MissingCredentialsError(self.name, ["IE_CONTACT"], "Wikimedia's User-Agent policy asks every client "
                                          "for a contact: your e-mail or a URL (or option contact)")
        width = self.options["thumb_width"]
        if width is None and self.options.get("resize"):  # "resize": a host key, the run's --resize
            # the run's shorter side: a 4:3 landscape needs 4/3 of it in width (the smallest step that serves it)
            width = math.ceil(int(self.options["resize"]) * 4 / 3)
        self.thumb_width = standard_step(int(width if width is not None else DEFAULT_THUMB_WIDTH))
        self.filetype = str(self.options["filetype"] or "")
        self._client = _http.make_client(self.options, on_limits=self.observe_limits)
        self._continue: dict[tuple[str, int, int], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def params(self, query: str, page: int, per_page: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "action": "query", "format": "json", "formatversion": 2, "generator": "search",
            "gsrsearch": f"{query} filetype:{self.filetype}" if self.filetype else query,
            "gsrnamespace": 6, "gsrlimit": per_page, "prop": "imageinfo",
            "iiprop": "url|size|mime|extmetadata", "iiurlwidth": self.thumb_width,
            "iiextmetadatafilter": "LicenseShortName|LicenseUrl|Artist|ImageDescription|ObjectName|Credit",
            "maxlag": self.options["maxlag"],
        }
        with self._lock:
            cont = self._continue.pop((query, page, per_page), None)
        if cont is not None:
            params.update(cont)
        elif page > 1:
            params["gsroffset"] = (page - 1) * per_page  # no continuation at hand (e.g. another process)
        return params

    def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
        per_page = max(1, min(per_page, self.max_per_page))
        response = _http.request(self.name, self._client, "GET", self.base_url, params=self.params(query, page, per_page))
        _http.raise_for_status(self.name, response, _http.max_wait(self.options))
        data = _http.expect(self.name, _http.json_body(self.name, response), dict, "a JSON object")
        if "error" in data:
            raise self._error(data["error"], _http.parse_retry_after(response.headers.get("Retry-After")))
        pages = _http.expect(self.name, (data.get("query") or {}).get("pages", []), list, "'query.pages' list")
        pages = sorted(pages, key=lambda p: p.get("index", 0) if isinstance(p, dict) else 0)
        hits = [hit for i, p in enumerate(pages) if (hit := self._hit(p, query, i)) is not None]
        cont = data.get("continue")
        if isinstance(cont, dict) and "gsroffset" in cont:
            with self._lock:
                self._continue[(query, page + 1, per_page)] = cont
            return SearchPage(hits, has_more=bool(pages))
        return SearchPage(hits, has_more=False)

    def _hit(self, page: Any, query: str, rank: int) -> Hit | None:
        if not isinstance(page, dict):
            raise MalformedResponseError(self.name, "a page is not an object")
        infos = page.get("imageinfo")
        if not infos:
            return None  # deleted file, or imageinfo deferred to a prop-continuation
        info = _http.expect(self.name, infos[0], dict, "an imageinfo object")
        if not info.get("url"):
            raise MalformedResponseError(self.name, f"imageinfo of {page.get('title')!r} has no url")
        meta = info.get("extmetadata") or {}

        def field(key: str) -> str | None:
            value = meta.get(key)
            return _http.strip_html(value.get("value") if isinstance(value, dict) else value)

        title = str(page.get("title", ""))
        name = title.split(":", 1)[-1].rsplit(".", 1)[0].replace("_", " ") if title else None
        thumb = info.get("thumburl")
        # the size of the image the hit points at: the thumbnail's (thumbwidth/thumbheight) when there is one
        size = (info.get("thumbwidth"), info.get("thumbheight")) if thumb and info.get("thumbwidth") else \
            (info.get("width"), info.get("height"))
        return Hit(
            url=str(thumb or info["url"]), engine=self.name, query=query, rank=rank, thumbnail_url=thumb,
            title=field("ObjectName") or name, source_page=info.get("descriptionurl"),
            license=field("LicenseShortName"), attribution=field("Artist") or field("Credit"),
            width=_http.as_int(size[0]), height=_http.as_int(size[1]),
            extra={k: v for k, v in (("mime", info.get("mime")), ("description", field("ImageDescription")),
                                      ("license_url", field("LicenseUrl")), ("original_url", info.get("url")),
                                      ("original_width", _http.as_int(info.get("width"))),
                                      ("original_height", _http.as_int(info.get("height"))),
                                      ("pageid", page.get("pageid")), ("file", title)) if v},
        )

    def _error(self, error: Any, retry_after: float | None = None) -> Exception:
        code = error.get("code") if isinstance(error, dict) else None
        info = error.get("info", "") if isinstance(error, dict) else str(error)
        if code in ("maxlag", "ratelimited"):
            return RateLimitedError(self.name, f"{code}: {info}", 5.0 if retry_after is None else retry_after)
        if code == "readapidenied":
            return AuthError(self.name, f"{code}: {info}")
        return EngineError(self.name, f"API error {code}: {info}")

    def close(self) -> None:
        self._client.close()


@hookimpl
def ie_register_engines(register: Any) -> None:
    register("wikimedia", WikimediaEngine, help="Wikimedia Commons image search (keyless; set IE_CONTACT for the User-Agent)")


# https://www.mediawiki.org/wiki/Common_thumbnail_sizes: the widths Wikimedia's thumbnail CDN keeps cached
STANDARD_STEPS = (20, 40, 60, 120, 250, 330, 500, 960, 1280, 1920, 3840)


def standard_step(width: int) -> int:
    """The smallest standard thumbnail width >= ``width`` (the largest one beyond it)."""
    return next((step for step in STANDARD_STEPS if step >= width), STANDARD_STEPS[-1])
