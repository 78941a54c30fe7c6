"""kNN text-to-image search against a clip-retrieval compatible backend (``clip_back``).

The public LAION service (knn.laion.ai) is down since 2024, so the backend URL and the index name are
required: options ``url`` and ``index`` (or env ``IE_LAION_URL`` / ``IE_LAION_INDEX``), e.g. a
self-hosted ``clip-retrieval back`` over LAION-5B or your own embeddings. The API is one POST to
``<url>/knn-service``; we do not depend on the clip-retrieval package (its pins conflict).

The service has no pagination: a search asks for ``num_images = limit`` at once (page ``p`` of size
``n`` asks for ``p * n`` and keeps the tail). Other options: ``use_safety_model`` (default true),
``use_violence_detector`` (true), ``deduplicate`` (true), ``aesthetic_score`` ("" or 0-9),
``aesthetic_weight`` (0.5), ``modality`` ("image"), ``oversample`` (num_result_ids = oversample *
num_images, default 2, to leave room for the safety/dedup filters), ``rate_per_second``, ``timeout``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar

from ie.api import EngineError, EngineUnavailableError, Hit, MalformedResponseError, SearchEngine, SearchPage, hookimpl
from ie.api import HealthCheck, Option, Quota
from ie_plugins.engines import _http

MAX_IMAGES = 10000


class LaionEngine(SearchEngine):
    """``POST <url>/knn-service`` with ``modality="image"``; hits carry the kNN similarity in ``extra``."""

    name: ClassVar[str] = "laion"
    max_per_page: ClassVar[int] = MAX_IMAGES
    max_results: ClassVar[int | None] = MAX_IMAGES
    default_rate_per_second: ClassVar[float] = 5.0
    default_burst: ClassVar[float] = 5.0

    OPTIONS = SearchEngine.OPTIONS + _http.HTTP_OPTIONS + (
        Option("url", str, None, "a clip-retrieval kNN service (default: $IE_LAION_URL)"),
        Option("index", str, None, "the service's index name (default: $IE_LAION_INDEX)"),
        Option("modality", str, "image", "what the text is matched against: image | text"),
        Option("oversample", float, 2.0, "result ids asked per image wanted (dead links and duplicates drop out)"),
        Option("deduplicate", bool, True, "the service drops near-duplicate images"),
        Option("use_safety_model", bool, True, "the service drops images its NSFW model flags"),
        Option("use_violence_detector", bool, True, "the service drops images its violence model flags"),
        Option("aesthetic_score", int, None, "the service favours images of this aesthetic score (e.g. 9)"),
        Option("aesthetic_weight", float, 0.5, "how much the aesthetic score counts"),
    )
    QUOTAS = (Quota("laion", 10_000, 5.0, None, "self-hosted clip-retrieval backend only (public service down)"),)

    @classmethod
    def health(cls, secrets: Mapping[str, str], today: date) -> list[HealthCheck]:
        found = {name: bool(os.environ.get(name)) for name in ("IE_LAION_URL", "IE_LAION_INDEX")}
        detail = ", ".join(f"{name} {'set' if ok else 'missing'}" for name, ok in found.items())
        ok = all(found.values())
        return [HealthCheck("engine laion", "ok" if ok else "warn", detail,
                            "" if ok else "the public LAION service is down: point IE_LAION_URL at a self-hosted "
                            "clip-retrieval backend (or options url/index)")]

    @classmethod
    def probe_url(cls) -> str | None:
        return os.environ.get("IE_LAION_URL") or None

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        url = self.options["url"] or self.options["base_url"] or os.environ.get("IE_LAION_URL")
        index = self.options["index"] or os.environ.get("IE_LAION_INDEX")
        missing = [name for name, value in (("url", url), ("index", index)) if not value]
        if missing:
            raise EngineUnavailableError(
                self.name,
                f"set option(s) {' and '.join(missing)} (--option engine.laion.url=http://host:1234 --option "
                "engine.laion.index=laion5B-L-14 on ie explore, --option url=... on ie search, "
                "[options.engine.laion] in ie.toml, or IE_LAION_URL / IE_LAION_INDEX): the public LAION kNN service is "
                "down since 2024, point this engine at a self-hosted clip-retrieval backend",
            )
        # clip-retrieval's own client takes the service URL with or without the endpoint
        # ("https://knn.laion.ai/knn-service" in its README): either form works here
        self.url = str(url).rstrip("/").removesuffix("/knn-service")
        self.index = str(index)
        self._client = _http.make_client(self.options, on_limits=self.observe_limits)

    def payload(self, query: str, num_images: int) -> dict[str, Any]:
        o = self.options
        oversample = max(1.0, float(o["oversample"]))
        aesthetic = o["aesthetic_score"]
        return {
            "text": query, "image": None, "image_url": None, "embedding_input": None,
            "modality": str(o["modality"]), "indice_name": self.index,
            "num_images": num_images, "num_result_ids": int(num_images * oversample), "use_mclip": False,
            "deduplicate": bool(o["deduplicate"]), "use_safety_model": bool(o["use_safety_model"]),
            "use_violence_detector": bool(o["use_violence_detector"]),
            "aesthetic_score": "" if aesthetic in (None, "") else int(aesthetic),
            "aesthetic_weight": float(o["aesthetic_weight"]),
        }

    def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
        wanted = min(page * per_page, MAX_IMAGES)
        data = _http.get_json(self.name, self._client, "POST", f"{self.url}/knn-service", _http.max_wait(self.options),
                              json=self.payload(query, wanted))
        if isinstance(data, dict) and "error" in data:
            raise EngineError(self.name, f"backend error: {data['error']}")
        rows = _http.expect(self.name, data, list, "a JSON list of results")
        hits: list[Hit] = []
        for i, row in enumerate(rows[(page - 1) * per_page : page * per_page]):
            if not isinstance(row, dict):
                raise MalformedResponseError(self.name, "a result is not an object")
            url = row.get("url")
            if not url:
                continue  # e.g. an index built without urls (clip_back then sends base64 "image")
            hits.append(Hit(
                url=str(url), engine=self.name, query=query, rank=i, title=row.get("caption") or None,
                width=_http.as_int(row.get("width")), height=_http.as_int(row.get("height")),
                extra={k: row[k] for k in ("similarity", "id") if k in row},
            ))
        # The backend had all we asked for: more may exist (asked for again with a bigger num_images).
        return SearchPage(hits, has_more=len(rows) >= wanted and wanted < MAX_IMAGES)

    def close(self) -> None:
        self._client.close()


@hookimpl
def ie_register_engines(register: Any) -> None:
    register(
        "laion", LaionEngine,
        help="self-hosted clip-retrieval kNN backend (options url, index; the public LAION service is down)",
    )
