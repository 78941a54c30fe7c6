"""A contract test suite every search-engine plugin (built-in or third-party) can run in its own tests.

Subclass :class:`EngineContract` in a pytest module, provide a ``backend`` fixture that serves the
engine's API (a loopback server, a client library's HTTP double, a temp folder) holding
``corpus_size`` results for :attr:`EngineContract.query` and none for
:attr:`EngineContract.empty_query`, and say how to point the engine at it (set ``plugin_module`` when the plugin is not installed)::

    import pytest
    from ie.testing.engine_contract import EngineContract

    class TestMyEngine(EngineContract):
        engine_name = "my-engine"
        required_secrets = {"MY_ENGINE_KEY": "test-key"}

        @pytest.fixture
        def backend(self, my_loopback_server):
            return my_loopback_server

        def engine_options(self, backend):
            return {"base_url": backend.url}

The engine is always created through the plugin manager, so the suite also checks registration.
Secrets are passed as ``options["secrets"]`` and the environment variables are removed, so a developer's
real keys are never used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from ie.api import Hit, MissingCredentialsError, SearchEngine, TokenBucket


class FakeClock:
    """A clock and a sleep that advance virtual time only: rate-limit tests run without waiting."""

    def __init__(self, start: float = 1000.0):
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class EngineContract:
    """The behaviour the loop relies on. Override the class attributes, ``backend`` and ``engine_options``."""

    engine_name: ClassVar[str] = ""
    required_secrets: ClassVar[dict[str, str]] = {}  # env variable -> a value the backend accepts
    query: ClassVar[str] = "red panda"
    empty_query: ClassVar[str] = "zzzz no such thing"
    corpus_size: ClassVar[int] = 12  # results the backend holds for ``query``
    small_page: ClassVar[int] = 5  # page size forced by the paging test
    supports_paging: ClassVar[bool] = True
    # A module (or object) with the @hookimpl ie_register_engines, for a plugin that is not installed
    # through an entry point; None: create the engine through the installed plugins.
    plugin_module: ClassVar[Any] = None

    # hooks for subclasses ------------------------------------------------------------------------
    @pytest.fixture
    def backend(self) -> Any:
        """Override: whatever ``engine_options`` needs to point the engine at a fake service."""
        return None

    def engine_options(self, backend: Any) -> dict[str, Any]:
        """Override: options that point the engine at ``backend`` (e.g. ``{"base_url": backend.url}``)."""
        return {}

    @pytest.fixture
    def engine_manager(self) -> Any:
        """The plugin manager the engine is created through."""
        from ie.host.manager import PluginManager, get_plugin_manager

        if self.plugin_module is None:
            return get_plugin_manager()
        manager = PluginManager(load_entry_points=False)
        info = manager.register(self.plugin_module, name=f"contract-{self.engine_name}")
        assert info.status == "ok", f"plugin failed to register: {info.error}"
        return manager

    # helpers -------------------------------------------------------------------------------------
    def make_engine(
        self, backend: Any, manager: Any, secrets: dict[str, str] | None = None, **options: Any
    ) -> SearchEngine:
        merged = {**self.engine_options(backend), **options}
        merged["secrets"] = dict(self.required_secrets if secrets is None else secrets)
        return manager.create("engine", self.engine_name, merged)

    @pytest.fixture
    def engine(self, backend: Any, engine_manager: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[SearchEngine]:
        for variable in self.required_secrets:
            monkeypatch.delenv(variable, raising=False)
        engine = self.make_engine(backend, engine_manager)
        clock = FakeClock()  # the engine's own rate, in virtual time: no test waits for real
        engine.rate_limiter = TokenBucket(engine.rate_limiter.rate, engine.rate_limiter.burst, clock=clock, sleep=clock.sleep)
        yield engine
        engine.close()

    def check_hits(self, hits: list[Hit], limit: int, query: str | None = None) -> None:
        query = self.query if query is None else query
        assert len(hits) <= limit
        assert all(isinstance(hit, Hit) for hit in hits)
        assert [hit.rank for hit in hits] == list(range(len(hits))), "ranks must be 0..n-1"
        urls = [hit.url for hit in hits]
        assert len(set(urls)) == len(urls), "urls must be unique"
        for hit in hits:
            assert hit.engine == self.engine_name
            assert hit.query == query
            assert hit.url.startswith(("http://", "https://")), hit.url

    # the contract --------------------------------------------------------------------------------
    def test_registered_through_plugin_manager(self, engine: SearchEngine, engine_manager: Any) -> None:
        assert self.engine_name in engine_manager.registry("engine").names()
        assert isinstance(engine, SearchEngine)
        assert engine.name == self.engine_name
        assert engine.max_per_page >= 1

    def test_returns_at_most_limit(self, engine: SearchEngine) -> None:
        limit = min(3, self.corpus_size)
        hits = engine.search(self.query, limit)
        assert len(hits) == limit
        self.check_hits(hits, limit)

    def test_returns_whole_corpus_and_stops(self, engine: SearchEngine) -> None:
        hits = engine.search(self.query, self.corpus_size + 10)
        assert len(hits) == self.corpus_size
        self.check_hits(hits, self.corpus_size)

    def test_no_results(self, engine: SearchEngine) -> None:
        assert engine.search(self.empty_query, 10) == []

    def test_pages_beyond_one_page(self, engine: SearchEngine, monkeypatch: pytest.MonkeyPatch) -> None:
        if not self.supports_paging:
            pytest.skip(f"{self.engine_name} has no pagination")
        monkeypatch.setattr(engine, "max_per_page", self.small_page, raising=False)
        calls: list[tuple[int, int]] = []
        original = engine.search_page

        def counting(query: str, page: int, per_page: int) -> Any:
            calls.append((page, per_page))
            return original(query, page, per_page)

        monkeypatch.setattr(engine, "search_page", counting)
        hits = engine.search(self.query, self.corpus_size)
        expected_pages = -(-self.corpus_size // self.small_page)
        assert [page for page, _ in calls] == list(range(1, expected_pages + 1))
        assert all(per_page <= self.small_page for _, per_page in calls)
        assert len(hits) == self.corpus_size
        self.check_hits(hits, self.corpus_size)

    def test_rate_limiter_is_consulted(self, engine: SearchEngine, monkeypatch: pytest.MonkeyPatch) -> None:
        clock = FakeClock()
        engine.rate_limiter = TokenBucket(1.0, 1.0, clock=clock, sleep=clock.sleep)  # 1 call/s, no burst
        if self.supports_paging:
            monkeypatch.setattr(engine, "max_per_page", self.small_page, raising=False)
        hits = engine.search(self.query, self.corpus_size)
        pages = -(-self.corpus_size // self.small_page) if self.supports_paging else 1
        assert len(hits) == self.corpus_size
        assert sum(clock.sleeps) == pytest.approx(pages - 1), "each page after the first waits for a token"

    def test_missing_credentials_name_the_variable(
        self, backend: Any, engine_manager: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        if not self.required_secrets:
            pytest.skip(f"{self.engine_name} needs no credentials")
        for variable in self.required_secrets:
            monkeypatch.delenv(variable, raising=False)
        for variable in self.required_secrets:
            others = {k: v for k, v in self.required_secrets.items() if k != variable}
            with pytest.raises(MissingCredentialsError) as info:
                engine = self.make_engine(backend, engine_manager, secrets=others)
                try:
                    engine.search(self.query, 1)
                finally:
                    engine.close()
            assert variable in str(info.value)
            assert variable in info.value.variables
