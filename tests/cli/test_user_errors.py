"""Every user mistake ends in one or two plain lines and a non-zero exit, never a traceback.

Each case runs ``python -m ie`` as a subprocess (as a user would), in a scratch folder, offline, with no API keys,
and checks the exit code (2: the command line or its inputs are wrong; 1: a job ran and failed), a fragment of
the message that names the thing and the fix, and that no traceback was printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ie.store import RunStore


def _setup(tmp: Path) -> None:
    (tmp / "urls.txt").write_text("http://127.0.0.1:9/a.jpg\n")
    (tmp / "adir").mkdir()
    (tmp / "afile.txt").write_text("not a folder\n")
    (tmp / "typo.toml").write_text("[explore]\niteratons = 3\n")
    (tmp / "syntax.toml").write_text("[explore]\niterations = 3\nseed = = 1\n")
    (tmp / "engines.toml").write_text("[explore.options.engines.flickr]\nlicense = '4'\n")
    (tmp / "knn.toml").write_text("[explore.options.reward.knn]\nkk = 3\n")
    (tmp / "knntype.toml").write_text("[explore.options.reward.knn]\nk = 'many'\n")
    (tmp / "secret.toml").write_text("[explore]\nFLICKR_API_KEY = 'abc'\n")
    (tmp / "badvalue.toml").write_text("[explore]\niterations = 'five'\n")
    with RunStore.open(tmp / "oldrun") as store:
        store.set_state("config", {"seed": 7})


# (id, arguments, exit code, fragment of the message)
CASES = [
    ("urls-file-missing", ["download", "missing.txt", "--run", "r"], 2, "missing.txt"),
    ("urls-file-is-a-dir", ["download", "adir", "--run", "r"], 2, "adir"),
    ("run-dir-is-a-file", ["download", "urls.txt", "--run", "afile.txt"], 2, "is a file, not a run directory"),
    ("unknown-option", ["explore", "--bogus"], 2, "No such option"),
    ("missing-argument", ["download"], 2, "Missing argument"),
    ("missing-required-option", ["download", "urls.txt"], 2, "Missing option"),
    ("bad-int", ["explore", "--iterations", "abc"], 2, "Invalid value for '--iterations'"),
    ("bad-float", ["explore", "--max-hours", "soon"], 2, "Invalid value for '--max-hours'"),
    ("unknown-command", ["exploer"], 2, "No such command"),
    ("unknown-engine", ["explore", "--run", "r", "--engine", "flikr"], 2, "did you mean 'flickr'"),
    ("unknown-ssl", ["explore", "--run", "r", "--ssl", "mocov4"], 2, "did you mean 'mocov3'"),
    ("unknown-vocab", ["explore", "--run", "r", "--vocab", "wordnt"], 2, "did you mean 'wordnet'"),
    ("unknown-policy", ["explore", "--run", "r", "--policy", "greedy"], 2, "policy"),
    ("unknown-target", ["explore", "--run", "r", "--target", "/no/such/folder", "--engine", "openverse"], 2,
     "unknown target"),
    ("mission-line-without-target", ["explore", "--run", "r", "--engine", "flickr", "--ssl", "mocov3"], 2,
     "--target is needed with engine flickr"),
    ("mission-line-names-the-key", ["explore", "--run", "r", "--engine", "flickr", "--ssl", "mocov3"], 2,
     "and set FLICKR_API_KEY"),
    ("mission-line-misspelt-engine", ["explore", "--run", "r", "--engine", "flikr", "--target", "adir"], 2,
     "did you mean 'flickr'"),
    ("real-engine-simulated-vocab", ["explore", "--run", "r", "--target", "adir", "--engine", "openverse", "--vocab",
                                    "simweb"], 2, "pass --vocab wordnet"),
    ("folder-target-without-engine", ["explore", "--run", "r", "--target", "adir"], 2, "needs --engine"),
    ("explore-unknown-licence", ["explore", "--run", "r", "--license", "cc0,cc-by"], 2, "unknown licence 'cc-by'"),
    ("export-unknown-licence", ["export", "oldrun", "--out", "o", "--license", "gpl"], 2, "unknown licence 'gpl'"),
    ("explore-option-shape", ["explore", "--run", "r", "--option", "k=3"], 2, "expected KIND.NAME.KEY=VALUE"),
    ("explore-option-typo", ["explore", "--run", "r", "--option", "reward.knn.kk=3"], 2, "did you mean 'k'"),
    ("config-missing", ["explore", "--config", "nope.toml"], 2, "nope.toml"),
    ("config-is-a-dir", ["explore", "--config", "adir"], 2, "adir"),
    ("config-unknown-key", ["explore", "--config", "typo.toml"], 2, "did you mean 'iterations'"),
    ("config-syntax", ["explore", "--config", "syntax.toml"], 2, "line 3"),
    ("config-bad-value", ["explore", "--run", "r", "--config", "badvalue.toml"], 2, "iterations"),
    ("config-secret", ["explore", "--config", "secret.toml"], 2, "holds secrets"),
    ("options-table-typo", ["explore", "--run", "r", "--config", "engines.toml"], 2, "did you mean 'engine'"),
    ("plugin-option-typo", ["explore", "--run", "r", "--config", "knn.toml"], 2, "did you mean 'k'"),
    ("plugin-option-type", ["explore", "--run", "r", "--config", "knntype.toml"], 2, "must be int"),
    ("config-show-typo", ["config", "show", "--config", "typo.toml"], 2, "did you mean 'iterations'"),
    ("run-dir-is-a-file-explore", ["explore", "--run", "afile.txt"], 2, "is a file, not a run directory"),
    ("run-dir-cannot-be-made", ["explore", "--run", "/proc/ie-run"], 2, "cannot create the run directory"),
    ("run-with-other-config", ["explore", "--run", "oldrun"], 2, "already holds a run with another config"),
    ("resume-missing-run", ["resume", "norun"], 2, "is not a run directory"),
    ("resume-bad-value", ["resume", "norun", "--iterations", "x"], 2, "Invalid value for '--iterations'"),
    ("report-missing-run", ["report", "norun"], 2, "is not a run directory"),
    ("export-missing-run", ["export", "norun", "--out", "o"], 2, "is not a run directory"),
    ("export-bad-format", ["export", "oldrun", "--out", "o", "--format", "zip"], 2, "zip"),
    ("missing-api-key", ["search", "--engine", "flickr", "red panda"], 2, "FLICKR_API_KEY"),
    ("explore-missing-api-key", ["explore", "--run", "r", "--engine", "google"], 2, "GOOGLE_API_KEY"),
    ("search-unknown-engine", ["search", "--engine", "gogle", "cat"], 2, "did you mean 'google'"),
    ("evaluate-missing-checkpoint", ["evaluate", "--target", "simweb", "--checkpoint", "none.pt"], 2, "none.pt"),
    ("train-images-missing", ["train", "noimages"], 2, "noimages"),
    ("train-images-is-a-file", ["train", "afile.txt"], 2, "afile.txt"),
]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("user-errors")
    _setup(tmp)
    return tmp


@pytest.mark.parametrize("args, code, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_user_mistake_is_one_clear_message(scratch: Path, args: list[str], code: int, fragment: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_CSE_ID", "_CLIENT_ID", "IE_DEBUG"))}
    env.update(XDG_CONFIG_HOME=str(scratch / "xdg"), COLUMNS="200", HF_HUB_OFFLINE="1")
    out = subprocess.run([sys.executable, "-m", "ie", *args], cwd=scratch, capture_output=True, text=True,
                         env=env, timeout=300)
    text = out.stdout + out.stderr
    assert "Traceback" not in text, text
    assert out.returncode == code, text
    assert fragment in " ".join(text.split()), text
    message = [line for line in out.stderr.splitlines() if line.strip()]
    assert 1 <= len(message) <= 6, text  # click usage errors are a usage line, a hint line and a boxed message


def test_at_least_25_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("how", ["env", "flag"])
def test_debug_shows_the_traceback(scratch: Path, how: str) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(scratch / "xdg")}
    env.pop("IE_DEBUG", None)
    args = ["resume", "norun"]
    if how == "env":
        env["IE_DEBUG"] = "1"
    else:
        args = ["--debug", *args]
    out = subprocess.run([sys.executable, "-m", "ie", *args], cwd=scratch, capture_output=True,
                         text=True, env=env, timeout=300)
    assert out.returncode == 2 and "Traceback" in out.stderr and "is not a run directory" in out.stderr


def test_a_failed_start_leaves_no_run_behind(scratch: Path) -> None:
    """A run that fails before its first stage stores no config: a corrected command starts it normally."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_CSE_ID"))}
    env["XDG_CONFIG_HOME"] = str(scratch / "xdg")
    bad = subprocess.run([sys.executable, "-m", "ie", "explore", "--run", "failed", "--target", "/no/such",
                          "--engine", "openverse"],
                         cwd=scratch, capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode == 2 and "unknown target" in bad.stderr
    resumed = subprocess.run([sys.executable, "-m", "ie", "resume", "failed"], cwd=scratch, capture_output=True,
                             text=True, env=env, timeout=300)
    assert resumed.returncode == 2 and "holds no started run" in resumed.stderr
