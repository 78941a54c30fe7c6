"""The clipart engine passes the engine contract every engine plugin runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ie.testing.engine_contract import EngineContract

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:plugin .* is broken")]


class TestClipartContract(EngineContract):
    engine_name = "clipart"
    query = "dog"  # 14 captions of the animals corpus hold the word
    empty_query = "zzzz qqqq"
    corpus_size = 14

    @pytest.fixture
    def backend(self, clipart_cache: Path) -> Path:
        return clipart_cache

    def engine_options(self, backend: Any) -> dict[str, Any]:
        return {"target": "animals", "cache_dir": backend}
