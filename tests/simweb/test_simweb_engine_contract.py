"""simweb passes the engine contract every engine plugin runs."""

from __future__ import annotations

from typing import Any

import pytest

from ie.testing.engine_contract import EngineContract

pytestmark = pytest.mark.filterwarnings("ignore:plugin .* is broken")


class TestSimWebContract(EngineContract):
    engine_name = "simweb"
    query = "red panda"  # matches a "red ..." concept by its shared word
    corpus_size = 12

    def engine_options(self, backend: Any) -> dict[str, Any]:
        return {"results_per_query": self.corpus_size}
