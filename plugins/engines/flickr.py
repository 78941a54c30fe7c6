"""Flickr photo search (``flickr.photos.search``) over the REST endpoint with a thin httpx client.

flickrapi 2.4.0 is unmaintained and its ``walk()`` breaks on Python >= 3.9, so this engine speaks
``format=json&nojsoncallback=1`` itself and pages on its own. Unsigned search needs only
``FLICKR_API_KEY``; ``FLICKR_API_SECRET`` is read when present (see :meth:`FlickrEngine.credentials`).

Options (``[options.engine.flickr]``): ``base_url`` (REST endpoint), ``license`` (Flickr license ids, e.g.
``"4,5,9,10"`` for CC BY / BY-SA / CC0 / PDM), ``safe_search`` (1-3, default 1), ``sizes`` (extras
in order of preference for the download URL), ``rate_per_second`` / ``burst``, ``timeout``.
Flickr asks for fewer than 3600 calls per hour per key: the default is 2880/hour.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

from ie.api import (
    AuthError,
    EngineError,
    EngineUnavailableError,
    Hit,
    MalformedResponseError,
    QuotaExceededError,
    SearchEngine,
    SearchPage,
    get_secret,
    hookimpl,
    require_secrets,
)
from ie.api import HealthCheck, Option, Quota, secrets_detail
from ie_plugins.engines import _http

REST_URL = "https://api.flickr.com/services/rest/"
# Largest first: the download URL is the first size present; the thumbnail the smallest. With the run's ``resize``
# (host option: the shorter side images are resized to), the smallest size whose shorter side serves it instead
# (https://www.flickr.com/services/api/misc.urls.html: m 500, z 640, c 800, l 1024 px on the longest side).
DEFAULT_SIZES = ("url_l", "url_c", "url_z", "url_m", "url_o")
SMALLEST_FIRST = ("url_m", "url_z", "url_c", "url_l", "url_o")
THUMB_SIZES = ("url_q", "url_s", "url_m")

# https://www.flickr.com/services/api/flickr.photos.licenses.getInfo.html
LICENSES: dict[str, str] = {
    "0": "All Rights Reserved", "1": "CC BY-NC-SA 2.0", "2": "CC BY-NC 2.0", "3": "CC BY-NC-ND 2.0",
    "4": "CC BY 2.0", "5": "CC BY-SA 2.0", "6": "CC BY-ND 2.0", "7": "No known copyright restrictions",
    "8": "United States Government Work", "9": "CC0 1.0", "10": "Public Domain Mark 1.0",
    "11": "CC BY 4.0", "12": "CC BY-SA 4.0", "13": "CC BY-ND 4.0", "14": "CC BY-NC 4.0",
    "15": "CC BY-NC-SA 4.0", "16": "CC BY-NC-ND 4.0",
}

# the run's licence families (host option ``licenses``) -> Flickr licence ids
FAMILY_IDS: dict[str, tuple[str, ...]] = {
    "cc0": ("9",), "pdm": ("7", "8", "10"), "by": ("4", "11"), "by-sa": ("5", "12"), "by-nd": ("6", "13"),
    "by-nc": ("2", "14"), "by-nc-sa": ("1", "15"), "by-nc-nd": ("3", "16"), "arr": ("0",),
}

# Flickr's "stat": "fail" codes (common API errors and flickr.photos.search's own).
AUTH_CODES = {96, 97, 98, 99, 100}  # invalid signature, missing signature, login failed, insufficient perms, bad key
UNAVAILABLE_CODES = {10, 105, 106}  # search API down, service unavailable, write failed
QUERY_CODES = {1, 2, 3, 4, 5, 11, 12, 17, 18}  # problems with this query: skip it


class FlickrEngine(SearchEngine):
    """``flickr.photos.search`` with sort=relevance, content_type=1 (photos only), media=photos."""

    name: ClassVar[str] = "flickr"
    max_per_page: ClassVar[int] = 500
    max_results: ClassVar[int | None] = 4000  # Flickr returns at most the first 4000 results of a search
    default_rate_per_second: ClassVar[float] = 0.8  # 2880 calls/hour < 3600
    default_burst: ClassVar[float] = 4.0

    SECRETS = ("FLICKR_API_KEY", "FLICKR_API_SECRET")
    REQUIRED_SECRETS = ("FLICKR_API_KEY",)
    OPTIONS = SearchEngine.OPTIONS + _http.HTTP_OPTIONS + (
        Option("license", str, None, "Flickr licence ids, comma-separated (e.g. '4,5,9,10' for CC BY/BY-SA/0/PD)"),
        Option("safe_search", int, 1, "1 safe, 2 moderate, 3 restricted"),
        Option("sizes", list, None, "URL size suffixes to try, in order"),
    )
    QUOTAS = (Quota("flickr", 500, 0.8, None,
                    "a key needs Flickr Pro (paid) in 2026; < 3600 calls/hour, one call per query"),)

    @classmethod
    def health(cls, secrets: Mapping[str, str], today: dt.date) -> list[HealthCheck]:
        ok = secrets.get("FLICKR_API_KEY", "missing") != "missing"
        return [HealthCheck("engine flickr", "ok" if ok else "warn", secrets_detail(secrets, cls.SECRETS),
                            "" if ok else
                            "export FLICKR_API_KEY=... (a key needs Flickr Pro: flickr.com/services/apps/create)")]

    @classmethod
    def probe_url(cls) -> str | None:
        return REST_URL

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        (self.api_key,) = require_secrets(
            self.name, ["FLICKR_API_KEY"], self.options,
            hint="get a key (Flickr Pro members) at https://www.flickr.com/services/apps/create/"
        )
        self.api_secret = get_secret("FLICKR_API_SECRET", self.options)
        self.base_url = str(self.options["base_url"] or REST_URL)
        sizes = self.options["sizes"] or (SMALLEST_FIRST if self.options.get("resize") else DEFAULT_SIZES)
        self.sizes = tuple(sizes.split(",") if isinstance(sizes, str) else sizes)
        self.resize = int(self.options.get("resize") or 0)
        self._client = _http.make_client(self.options, on_limits=self.observe_limits)

    def credentials(self) -> dict[str, bool]:
        """Which credentials are set (never their values)."""
        return {"FLICKR_API_KEY": bool(self.api_key), "FLICKR_API_SECRET": bool(self.api_secret)}

    def params(self, query: str, page: int, per_page: int) -> dict[str, Any]:
        extras = ["license", "owner_name", "o_dims", *dict.fromkeys([*self.sizes, *THUMB_SIZES])]
        params: dict[str, Any] = {
            "method": "flickr.photos.search", "api_key": self.api_key, "text": query, "sort": "relevance",
            "content_type": 1, "media": "photos", "extras": ",".join(extras), "per_page": per_page, "page": page,
            "safe_search": self.options["safe_search"], "format": "json", "nojsoncallback": 1,
        }
        if self.options["license"] not in (None, ""):
            params["license"] = self.options["license"]
        elif self.options.get("licenses"):  # the run's --license families, asked of the API itself
            params["license"] = ",".join(i for f in self.options["licenses"] for i in FAMILY_IDS.get(f, ()))
        return params

    def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
        per_page = min(per_page, self.max_per_page)
        data = _http.get_json(self.name, self._client, "GET", self.base_url, _http.max_wait(self.options),
                              params=self.params(query, page, per_page))
        data = _http.expect(self.name, data, dict, "a JSON object")
        if data.get("stat") != "ok":
            raise self._error(data)
        photos = _http.expect(self.name, data.get("photos"), dict, "'photos' object")
        items = _http.expect(self.name, photos.get("photo"), list, "'photos.photo' list")
        hits = [hit for i, item in enumerate(items) if (hit := self._hit(item, query, i)) is not None]
        pages = _http.as_int(photos.get("pages")) or 0
        return SearchPage(hits, has_more=page < pages and bool(items))

    def _hit(self, item: Any, query: str, rank: int) -> Hit | None:
        if not isinstance(item, dict):
            raise MalformedResponseError(self.name, "a photo is not an object")
        present = [s for s in self.sizes if item.get(s)]
        if not present:
            return None  # no public size we can fetch (e.g. only url_o with restricted originals)
        size = present[0]
        if self.resize:  # the first (smallest) whose shorter side is at least `resize`, else the largest there is
            largest = next((s for s in reversed(present) if s != "url_o"), present[-1])  # originals: a last resort
            size = next((s for s in present if _shorter_side(item, s) >= self.resize), largest)
        suffix = size.removeprefix("url_")
        thumb = next((item[t] for t in THUMB_SIZES if item.get(t)), None)
        owner, photo_id = item.get("owner"), item.get("id")
        license_id = str(item.get("license", ""))
        return Hit(
            url=str(item[size]), engine=self.name, query=query, rank=rank, thumbnail_url=thumb,
            title=item.get("title") or None,
            source_page=f"https://www.flickr.com/photos/{owner}/{photo_id}/" if owner and photo_id else None,
            license=LICENSES.get(license_id, license_id or None), attribution=item.get("ownername") or owner,
            width=_http.as_int(item.get(f"width_{suffix}")), height=_http.as_int(item.get(f"height_{suffix}")),
            extra={"id": photo_id, "license_id": license_id, "size": suffix},
        )

    def _error(self, data: dict[str, Any]) -> Exception:
        code = _http.as_int(data.get("code"))
        message = f"Flickr error {code}: {data.get('message', 'no message')}"
        if code in AUTH_CODES:
            return AuthError(self.name, message + " (check FLICKR_API_KEY)")
        if code in UNAVAILABLE_CODES:
            return EngineUnavailableError(self.name, message)
        if code is not None and "limit" in str(data.get("message", "")).lower():
            return QuotaExceededError(self.name, message)
        if code in QUERY_CODES or code is not None:
            return EngineError(self.name, message)
        return MalformedResponseError(self.name, f"stat={data.get('stat')!r} without an error code")

    def close(self) -> None:
        self._client.close()


def _shorter_side(item: dict[str, Any], size: str) -> int:
    suffix = size.removeprefix("url_")
    width, height = _http.as_int(item.get(f"width_{suffix}")), _http.as_int(item.get(f"height_{suffix}"))
    return min(width, height) if width and height else 0


@hookimpl
def ie_register_engines(register: Any) -> None:
    register("flickr", FlickrEngine, help="Flickr photo search (FLICKR_API_KEY; < 3600 calls/hour per key)")
