"""The example plugins register and work; the library example compiles and imports."""

from __future__ import annotations

from pathlib import Path
import importlib
import importlib.util
import tomllib

import numpy as np
import pytest
from PIL import Image

from ie.host.manager import PluginManager

REPO = Path(__file__).resolve().parents[2]


def load_example(monkeypatch, folder: str, module: str):
    monkeypatch.syspath_prepend(str(REPO / "examples" / folder))
    entry = tomllib.loads((REPO / "examples" / folder / "pyproject.toml").read_text())["project"]["entry-points"]["ie"]
    assert module in entry.values()
    return importlib.import_module(module)


def test_custom_vocabulary_registers(monkeypatch):
    module = load_example(monkeypatch, "custom_vocabulary", "ie_garden_vocabulary")
    manager = PluginManager(load_entry_points=False)
    assert manager.register(module).status == "ok"
    vocab = manager.create("vocabulary", "garden-birds", {"extra": ["nuthatch"]})
    names = [c.name for c in vocab.concepts()]
    assert len(vocab) == 9 and "robin" in names and names[-1] == "nuthatch"
    assert len({c.id for c in vocab.concepts()}) == 9


def test_custom_reward_registers_and_scores(monkeypatch, tmp_path):
    module = load_example(monkeypatch, "custom_reward", "ie_colour_reward")
    manager = PluginManager(load_entry_points=False)
    assert manager.register(module).status == "ok"
    colours = {"red1": (220, 20, 20), "red2": (200, 30, 40), "blue": (20, 20, 220)}
    paths = {}
    for name, colour in colours.items():
        paths[name] = tmp_path / f"{name}.png"
        Image.new("RGB", (32, 32), colour).save(paths[name])
    reward = manager.create("reward", "colour-histogram", {})
    reward.fit_target([paths["red1"]], featurizer=None)
    scores = reward.score([paths["red2"], paths["blue"]], featurizer=None)
    assert scores.shape == (2,) and scores[0] > scores[1] and np.all((scores >= 0) & (scores <= 1))
    assert reward.concept_reward([0.2, 0.4]) == pytest.approx(0.3)


def test_library_example_uses_only_the_top_level_api():
    source = (REPO / "examples" / "library_use.py").read_text()
    imports = [line.strip() for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert [i for i in imports if "ie" in i.split()[1].split(".")[0]] == ["import ie"]
    assert "from ie." not in source and "import ie." not in source


@pytest.mark.slow
def test_library_use_example_runs_an_iteration_and_reads_it_back(tmp_path, capsys):
    path = REPO / "examples" / "library_use.py"
    spec = importlib.util.spec_from_file_location("library_use", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the __main__ guard keeps it from exploring on import
    report = module.explore(tmp_path / "run")
    assert report.name == "index.html" and report.is_file()
    counts = module.summarise(tmp_path / "run")
    assert counts.get("ok", 0) > 0
    printed = capsys.readouterr().out
    assert "iteration 0: " in printed and "images_kept" in printed
