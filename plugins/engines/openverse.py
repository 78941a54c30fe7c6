"""Openverse image search (``GET /v1/images/``): openly licensed images with license and attribution.

Keyless by default (anonymous: 5 requests an hour and 100 a day, as its documentation states; ``page_size`` <= 20). With OAuth2
client credentials (env ``OPENVERSE_CLIENT_ID`` / ``OPENVERSE_CLIENT_SECRET``, register at
https://api.openverse.org/v1/#tag/auth) the engine fetches a Bearer token from
``POST /v1/auth_tokens/token/`` and may ask for ``page_size`` <= 500. Every search is capped at a page
depth of 20. Options: ``base_url`` (default https://api.openverse.org), ``license``, ``license_type``,
``source``, ``mature`` (passed through), ``rate_per_second`` / ``burst``, ``timeout``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, ClassVar

from ie.api import (
    AuthError,
    Hit,
    MalformedResponseError,
    MissingCredentialsError,
    SearchEngine,
    SearchPage,
    TokenBucket,
    get_secret,
    hookimpl,
)
from ie.api import HealthCheck, Option, Quota, secrets_detail
from ie_plugins.engines import _http

BASE_URL = "https://api.openverse.org"
MAX_PAGE_DEPTH = 20
PASSTHROUGH = ("license", "license_type", "source", "excluded_source", "mature", "extension", "aspect_ratio", "size")


class OpenverseEngine(SearchEngine):
    """Anonymous or OAuth2 (client credentials) Openverse search; keeps license fields per hit."""

    name: ClassVar[str] = "openverse"
    max_per_page: ClassVar[int] = 20  # anonymous; 500 with credentials (set per instance)
    max_results: ClassVar[int | None] = 20 * MAX_PAGE_DEPTH
    # https://api.openverse.org/v1/ (documentation, "Rate limits"): anonymous 5 requests/hour and 100/day at once;
    # with OAuth2 client credentials 100/minute and 10,000/day. Paced a little under each, so a run never meets a
    # 429 that ends the engine for the session.
    default_rate_per_second: ClassVar[float] = 4.5 / 3600
    default_burst: ClassVar[float] = 4.0
    authenticated_rate_per_second: ClassVar[float] = 90 / 60
    authenticated_page_size: ClassVar[int] = 500

    SECRETS = ("OPENVERSE_CLIENT_ID", "OPENVERSE_CLIENT_SECRET")
    REQUIRED_SECRETS = ()  # anonymous access works, at lower limits
    OPTIONS = SearchEngine.OPTIONS + _http.HTTP_OPTIONS + (
        *(Option(key, str, None, "passed to the Openverse API as is") for key in PASSTHROUGH),
    )
    QUOTAS = (Quota("openverse (anonymous)", 20, 4.5 / 3600, 100,
                    "keyless, but 5 requests/hour and 100/day: a first try, not a run"),
              Quota("openverse (OAuth2)", 500, 1.5, 10000, "free client credentials; CC-licensed images only"))

    @classmethod
    def health(cls, secrets: Mapping[str, str], today: date) -> list[HealthCheck]:
        pair = [secrets.get(n, "missing") != "missing" for n in cls.SECRETS]
        if all(pair):
            return [HealthCheck("engine openverse", "ok", "OAuth2 client credentials set (page size up to 500)")]
        if any(pair):
            return [HealthCheck("engine openverse", "warn", secrets_detail(secrets, cls.SECRETS),
                                "set both for OAuth2, or unset both for anonymous use")]
        return [HealthCheck("engine openverse", "ok", "keyless (anonymous: 5 requests/hour, 100/day)",
                            "for more: OPENVERSE_CLIENT_ID + OPENVERSE_CLIENT_SECRET")]

    @classmethod
    def probe_url(cls) -> str | None:
        return f"{BASE_URL}/v1/"

    def __init__(self, options: Mapping[str, Any] | None = None, clock: Callable[[], float] = time.time):
        super().__init__(options)
        self.base_url = str(self.options["base_url"] or BASE_URL).rstrip("/")
        self.client_id = get_secret("OPENVERSE_CLIENT_ID", self.options)
        self.client_secret = get_secret("OPENVERSE_CLIENT_SECRET", self.options)
        if bool(self.client_id) != bool(self.client_secret):
            missing = "OPENVERSE_CLIENT_SECRET" if self.client_id else "OPENVERSE_CLIENT_ID"
            raise MissingCredentialsError(self.name, [missing], "both are needed for OAuth2; unset both for anonymous use")
        self.authenticated = bool(self.client_id)
        if self.authenticated:
            self.max_per_page = self.authenticated_page_size  # type: ignore[misc]
            self.max_results = self.authenticated_page_size * MAX_PAGE_DEPTH  # type: ignore[misc]
            if self.options["rate_per_second"] is None:
                burst = self.options["burst"]
                self.rate_limiter = TokenBucket(self.authenticated_rate_per_second,
                                                float(burst if burst is not None else self.default_burst))
        self._clock = clock
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()
        self._client = _http.make_client(self.options, on_limits=self.observe_limits)

    # OAuth2 ------------------------------------------------------------------------------------
    def token(self, refresh: bool = False) -> str | None:
        """A Bearer token (cached until a minute before it expires), or None when anonymous."""
        if not self.authenticated:
            return None
        with self._token_lock:
            if refresh or self._token is None or self._clock() >= self._token_expires:
                data = self._fetch_token()
                self._token = data["access_token"]
                self._token_expires = self._clock() + max(0.0, float(data.get("expires_in", 3600)) - 60.0)
            return self._token

    def _fetch_token(self) -> dict[str, Any]:
        response = _http.request(
            self.name, self._client, "POST", f"{self.base_url}/v1/auth_tokens/token/",
            data={"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret},
        )
        if response.status_code in (400, 401, 403):
            raise AuthError(
                self.name, f"HTTP {response.status_code} getting a token: check OPENVERSE_CLIENT_ID and "
                "OPENVERSE_CLIENT_SECRET (and that the application's e-mail is verified)",
            )
        _http.raise_for_status(self.name, response)
        data = _http.expect(self.name, _http.json_body(self.name, response), dict, "a token object")
        if not isinstance(data.get("access_token"), str):
            raise MalformedResponseError(self.name, "token response has no access_token")
        return data

    # search ------------------------------------------------------------------------------------
    def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
        page_size = max(1, min(per_page, self.max_per_page))
        if page > MAX_PAGE_DEPTH:
            return SearchPage([], has_more=False)
        params: dict[str, Any] = {"q": query, "page": page, "page_size": page_size}
        params.update({k: self.options[k] for k in PASSTHROUGH if self.options[k] not in (None, "")})
        if "license" not in params and self.options.get("licenses"):  # the run's --license families (same names)
            params["license"] = ",".join(f for f in self.options["licenses"] if f != "arr")
        url = f"{self.base_url}/v1/images/"
        response = self._get(url, params)
        if response.status_code == 401 and self.authenticated:
            response = self._get(url, params, refresh=True)  # the token may have been revoked or expired early
        if response.status_code == 401:
            hint = "token refused" if self.authenticated else "anonymous requests allow page_size <= 20"
            raise AuthError(self.name, f"HTTP 401 ({hint}): check OPENVERSE_CLIENT_ID / OPENVERSE_CLIENT_SECRET")
        _http.raise_for_status(self.name, response, _http.max_wait(self.options))
        data = _http.expect(self.name, _http.json_body(self.name, response), dict, "a JSON object")
        results = _http.expect(self.name, data.get("results"), list, "'results' list")
        hits = [self._hit(item, query, i) for i, item in enumerate(results)]
        page_count = _http.as_int(data.get("page_count")) or 0
        return SearchPage(hits, has_more=bool(results) and page < min(page_count, MAX_PAGE_DEPTH))

    def _get(self, url: str, params: dict[str, Any], refresh: bool = False) -> Any:
        token = self.token(refresh=refresh)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return _http.request(self.name, self._client, "GET", url, params=params, headers=headers)

    def _hit(self, item: Any, query: str, rank: int) -> Hit:
        if not isinstance(item, dict) or not item.get("url"):
            raise MalformedResponseError(self.name, "a result has no 'url'")
        license_code, version = item.get("license"), item.get("license_version")
        license_name = None
        if license_code:
            code = str(license_code)
            license_name = code.upper() if code in ("cc0", "pdm") else f"CC {code.upper()}"
            license_name += f" {version}" if version else ""
        return Hit(
            url=str(item["url"]), engine=self.name, query=query, rank=rank, thumbnail_url=item.get("thumbnail"),
            title=item.get("title") or None, source_page=item.get("foreign_landing_url"), license=license_name,
            attribution=item.get("creator") or item.get("attribution"),  # the creator, as for every engine
            width=_http.as_int(item.get("width")), height=_http.as_int(item.get("height")),
            extra={
                k: item.get(k)
                for k in ("id", "license", "license_version", "license_url", "creator", "creator_url",
                          "attribution", "foreign_landing_url", "provider", "source", "filetype")
                if item.get(k) is not None
            },
        )

    def close(self) -> None:
        self._client.close()


@hookimpl
def ie_register_engines(register: Any) -> None:
    register(
        "openverse", OpenverseEngine,
        help="Openverse CC-licensed images; keyless, or OPENVERSE_CLIENT_ID/_SECRET for higher limits",
    )
