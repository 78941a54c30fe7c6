"""The simulated web's search engine: mostly relevant hits with realistic noise, served over loopback.

For a query, the engine finds the concept it is about (:meth:`World.match`) and returns, at each result position,
an image of that concept, or (share ``noise``) an image of a random concept, or (share ``broken_rate``) a broken URL;
a query that shares no word with any concept gets no results.
Queries for a target class also return ``leaks_per_query`` of the target's own test images, so the leak guard has
work. Results are deterministic for (seed, query text); only the URL's port can differ between processes.

``Hit.extra`` carries the ground truth (``concept``, ``kind``, ``relevant``) for reports and tests: the loop must not
use it for rewards.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ie.api import Concept, Hit, SearchEngine, SearchPage
from ie_plugins.simweb.options import ENGINE_OPTIONS
from ie_plugins.simweb.server import BROKEN_KINDS, SimWebServer, get_server
from ie_plugins.simweb.world import TEST_BASE, TRAIN_BASE, World, get_world, slug_of

PER_QUERY_SPAN = 1000  # hard cap of results per query (image indices of one query live in a span this wide)


class SimWebEngine(SearchEngine):
    """Search over the simulated web. Options: ``seed``, ``image_size``, ``n_concepts``, ``target`` (the world),
    ``noise`` (0.25), ``broken_rate`` (0.05), ``results_per_query`` (500), ``leaks_per_query`` (2), ``port``,
    ``answer_all`` (False)."""

    name: ClassVar[str] = "simweb"
    max_per_page: ClassVar[int] = 50
    default_rate_per_second: ClassVar[float] = 1000.0
    default_burst: ClassVar[float] = 1000.0
    serves_private_urls: ClassVar[bool] = True
    OPTIONS = ENGINE_OPTIONS

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        self.seed = self.world.config.seed
        self.image_size = self.world.config.image_size
        self.noise = float(self.options["noise"])
        self.broken_rate = float(self.options["broken_rate"])
        if self.noise < 0 or self.broken_rate < 0 or self.noise + self.broken_rate > 1:
            raise ValueError("simweb: noise and broken_rate must be >= 0 and sum to at most 1")
        self.results_per_query = min(PER_QUERY_SPAN, int(self.options["results_per_query"]))
        self.leaks_per_query = int(self.options["leaks_per_query"])
        self._port = self.options["port"]
        self.answer_all = bool(self.options["answer_all"])

    @property
    def world(self) -> World:
        """The world (resolved on each use: a target loaded later in this process may set the definition)."""
        return get_world(self.options)

    @property
    def server(self) -> SimWebServer:
        """The process's loopback server, started on first use."""
        return get_server(None if self._port is None else int(self._port))

    def serve(self) -> None:
        self.server  # noqa: B018 - started on first use, on the preferred port (IE_SIMWEB_PORT, default 47011)

    # searching -----------------------------------------------------------------------------------
    def search_page(self, query: str, page: int, per_page: int) -> SearchPage:
        per_page = max(1, min(int(per_page), self.max_per_page))
        start = (max(1, int(page)) - 1) * per_page
        stop = min(start + per_page, self.results_per_query)
        concept = self.world.match(query)
        if concept is None and self.answer_all:  # a web that answers everything (load benchmarks)
            concepts = self.world.concepts
            concept = concepts[zlib.crc32(" ".join(query.lower().split()).encode()) % len(concepts)]
        if concept is None:  # the query shares no word with any concept: no results, like a real engine
            return SearchPage(hits=[], has_more=False)
        hits = [self._hit(query, concept, position) for position in range(start, stop)]
        return SearchPage(hits=hits, has_more=stop < self.results_per_query)

    def _hit(self, query: str, concept: Concept, position: int) -> Hit:
        """The hit at ``position`` (0-based) of ``query``: deterministic per (seed, query, position)."""
        key = zlib.crc32(" ".join(query.lower().split()).encode())
        rng = np.random.default_rng([self.seed & 0xFFFFFFFF, key, position, 17])
        draw = rng.random()
        server, world = self.server, self.world
        slug = slug_of(concept.id)
        own_index = (key % 997) * PER_QUERY_SPAN + position
        assert own_index < TRAIN_BASE
        leak_positions = [7 + 16 * k for k in range(self.leaks_per_query)]
        if slug in world.definition.classes and position in leak_positions:
            kind, image_slug, index = "leak", slug, TEST_BASE + leak_positions.index(position)
        elif draw < self.broken_rate:
            kind, image_slug, index = "broken_" + str(rng.choice(BROKEN_KINDS)), slug, own_index
        elif draw < self.broken_rate + self.noise:
            other = world.appearances[int(rng.integers(len(world.appearances)))]
            kind, image_slug, index = "noise", other.slug, int(rng.integers(TRAIN_BASE))
        else:
            kind, image_slug, index = "match", slug, own_index
        broken = kind.startswith("broken_")
        if broken:
            url = server.broken_url(kind.removeprefix("broken_"), image_slug, index, self.seed, self.image_size)
        else:
            url = server.url_for(image_slug, index, self.seed, self.image_size)
        concept_id = "sim:" + image_slug
        return Hit(
            url=url,
            engine=self.name,
            query=query,
            rank=position,
            title=f"{world.concept(concept_id).name} #{index}" if concept_id in world else image_slug,
            source_page=server.page_for(image_slug, index, self.seed, self.image_size),
            license="CC0-1.0",
            attribution="simweb",
            width=None if broken else self.image_size,
            height=None if broken else self.image_size,
            extra={
                "concept": None if kind in ("broken_404", "broken_500", "broken_html") else concept_id,
                "kind": kind,
                "relevant": not broken and world.is_relevant(concept_id),
            },
        )

    # ground truth (reports, benchmarks, tests; never rewards) ----------------------------------------
    def query_concept(self, query: str) -> Concept | None:
        """The concept the engine takes ``query`` to be about (None: the query matches nothing)."""
        return self.world.match(query)

    def relevance(self, query: str, limit: int = 100) -> float | None:
        """Ground truth: the share of target-relevant images among the working (non-broken) hits of the first
        ``limit`` results of ``query``. About 1 - noise for a relevant concept, about 0.01 otherwise."""
        concept = self.world.match(query)
        if concept is None:
            return 0.0
        hits = [self._hit(query, concept, p) for p in range(min(limit, self.results_per_query))]
        images = [h for h in hits if not h.extra["kind"].startswith("broken_")]
        return sum(h.extra["relevant"] for h in images) / len(images) if images else 0.0

    def image_relevance(self, url: str) -> bool | None:
        """Ground truth for one served image URL (``.../img/<slug>/<index>.jpg``): whether it shows a concept relevant
        to the target; None for a URL this engine did not serve."""
        parts = url.split("/img/", 1)  # the port may differ after a resume: the path alone names the image
        if len(parts) != 2:
            return None
        concept_id = "sim:" + parts[1].split("/", 1)[0]
        return self.world.is_relevant(concept_id) if concept_id in self.world else None

    def is_relevant_query(self, query: str) -> bool:
        """Ground truth: whether the query's concept is relevant to the target."""
        world = self.world
        concept = world.match(query)
        return concept is not None and world.is_relevant(concept.id)
