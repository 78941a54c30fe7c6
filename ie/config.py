"""Configuration: defaults < ``ie.toml`` (or ``--config FILE``) < command-line options.

Secrets (API keys) come only from environment variables or the ``[secrets]`` table of the user config
file (``$XDG_CONFIG_HOME/ie/config.toml``, default ``~/.config/ie/config.toml``); they are never echoed
and never written into a run directory. A project ``ie.toml`` that holds a secret is refused.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ie.api import IEError, nearest

SECRET_PATTERN = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|CLIENT_ID)$", re.IGNORECASE)


def _f(default: Any, help: str, **kw: Any) -> Any:
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help}, **kw)
    return field(default=default, metadata={"help": help}, **kw)


@dataclass
class ExploreConfig:
    """Settings of one exploration run. Paper values in the help; defaults are small, for one CPU machine."""

    target: str = _f("auto", "Target dataset: an image folder or a plugin name (simweb, clipart:animals, ...). "
                             "auto: the simulated web's own target, when the engines are simulated too.")
    engines: list[str] = _f([], "Search engines to query; several are mixed by `engine_weights`. Default: the "
                                "target's own offline web (simweb, clipart); a real target needs --engine.")
    engine_weights: list[float] = _f([], "Share of queries per engine (default: equal).")
    ssl: str = _f("mocov3", "SSL method plugin (paper: mocov3).")
    reward: str = _f("knn", "Reward plugin (paper: knn with k = 15).")
    vocab: str = _f("auto", "Concept vocabulary (paper: wordnet, 146,347 concepts). auto: simweb on the simulated "
                            "web, wordnet everywhere else.")
    embedder: str = _f("auto", "Text embedder for the GP (paper: 384-d MiniLM -> `minilm`). auto: hashing with the "
                               "simulated vocabulary, minilm everywhere else.")
    descriptors: str = _f("", "Descriptor provider ('' = none; `adjectives` offline).")
    policy: str = _f("gp", "Concept policy: gp (the paper's GP + tiered softmax), random (uniform baseline), "
                           "no-gp (ablation: rewards update only the queried concepts, no GP extrapolation).")
    label_set: bool = _f(False, "Label-set mode: prune the vocabulary by class names, query labels half the time.")
    iterations: int = _f(5, "Iterations (paper: 20-50).")
    queries_per_iter: int = _f(24, "Concepts sampled per iteration (paper: 256).")
    images_per_query: int = _f(16, "Hits requested per query (paper: 100).")
    arch: str = _f("efficientnet_lite0", "timm backbone (paper: resnet50); efficientnet_lite0/1/2 have ImageNet "
                                         "weights offline.")
    init: str = _f("auto", "Start: auto (imagenet where a weights plugin offers it offline, else random) | imagenet "
                           "| random | timm[:tag] | checkpoint:PATH (e.g. the paper's MoCo-v3 file).")
    finetune: str = _f("auto", "How SSL changes the backbone: auto (gentle from a pretrained start, else full) | "
                               "gentle (backbone lr x0.1, batch-norm statistics kept) | full (the paper's recipe).")
    image_size: int = _f(64, "Training resolution (paper: 224).")
    feature_size: int = _f(128, "Resolution at which the model scores rewards and is evaluated (0 = image_size). "
                                "A pretrained start ranks web images far better at 128 px than at 64 (clip-art "
                                "web: reward ROC AUC 0.85 vs 0.72), for a few seconds more per iteration on a CPU.")
    batch_size: int = _f(32, "SSL batch size (paper: 224).")
    epochs: float = _f(1.0, "Epochs over the iteration's training mix (paper: 10).")
    max_steps_per_iter: int = _f(20, "Cap on SSL steps per iteration (0 = no cap).")
    checkpoint_every: int = _f(200, "SSL steps between checkpoints inside one iteration's training: a crash "
                                    "redoes at most this many on resume (0 = only at the stage's end).")
    keep_checkpoints: int = _f(2, "Iterations whose full SSL checkpoint stays on disk, newest first (0 = all); "
                                  "a MoCo-v3 checkpoint is ~390 MB for resnet18, ~610 MB for resnet50.")
    calibrate_rewards: bool = _f(True, "Subtract the reward of the target's val images under the same model.")
    reward_background: int = _f(1000, "Web images the reward is contrasted with (0 = off: the paper's plain "
                                      "kNN): a seeded sample of this many of the first iteration's kept images. "
                                      "The kNN reward then scores the log-odds of a classifier telling the target "
                                      "from them (contrast = classifier), so a look-alike in the wrong context "
                                      "stops scoring like the target: reward ROC AUC, pretrained start, simulated "
                                      "web 0.70-0.74 -> 0.80-0.83, clip-art web 0.85 -> 0.91.")
    pad_short_queries: bool = _f(False, "A query that yields fewer images than the reward's top_n counts each "
                                        "missing one at a low reward of its iteration (the 10th percentile). Off: the "
                                        "paper's mean of the top_n images there are (an empty query: the iteration's "
                                        "lowest). With the contrasted reward, padding ranked the clip-art web's "
                                        "relevant queries worse (concept ROC AUC 0.84 vs 0.91) and the GP found them "
                                        "less often (>= 5x random in 2 of 5 seeds vs 5 of 5).")
    pcr: float = _f(2.0, "Past-to-candidate ratio of the training mix (paper: 2).")
    replay_fraction: float = _f(0.5, "Share of new images, by reward, added to the replay buffer (paper: 0.5).")
    resize: int = _f(128, "Shorter side of stored images (0 = keep); at least feature_size, or rewards see "
                          "upscaled images.")
    seed: int = _f(0, "Seed of every random choice of the run.")
    device: str = _f("auto", "auto | cpu | cuda | cuda:N")
    evaluate: bool = _f(True, "kNN accuracy on the target after each iteration when it has labels.")
    linear_probe: bool = _f(True, "Also a linear probe (logistic regression on frozen features) after each iteration.")
    max_hours: float = _f(0.0, "Stop after this many hours (0 = no limit).")
    max_images: int = _f(0, "Stop after this many kept images (0 = no limit).")
    min_free_gb: float = _f(1.0, "Stop cleanly (then `ie resume`) before a stage when the run's disk has less free "
                                 "space than this, in GB (0 = never check).")
    executor: str = _f("local", "Where search, download and reward scoring run: local (this machine) | ray "
                             "(a Ray cluster; address in [options.executor.ray]).")
    allow_private_hosts: bool = _f(False, "Let the downloader fetch private/loopback addresses.")
    licenses: list[str] = _f([], "Keep only hits under these licence families (cc0, pdm, by, by-sa, by-nd, by-nc, "
                                 "by-nc-sa, by-nc-nd; [] = any): passed to engines whose API filters by licence "
                                 "(Flickr, Openverse) and checked on every hit; a hit with no known licence is "
                                 "dropped when a filter is set.")
    options: dict[str, dict[str, dict[str, Any]]] = _f({}, "Plugin options: [options.<kind>.<name>] tables.")

    def __post_init__(self) -> None:
        """Refuse a value of the wrong type or outside its choices, naming the field (TOML, CLI and library alike);
        then resolve the ``auto`` world (:meth:`_resolve_world`)."""
        self._check_types()
        self._resolve_world()

    def _resolve_world(self) -> None:
        """The simulated web is the default only as a whole (target, engines, vocabulary, embedder together). A
        real engine or a real target brings the real defaults (WordNet, MiniLM); a real engine needs a target
        and is refused with the simulated vocabulary or target, so nothing simulated is ever sent to the web."""
        engines = list(self.engines)
        real_engines = [e for e in engines if e not in OFFLINE_WORLDS]
        if self.target == AUTO:
            if real_engines:
                raise TargetNeededError(real_engines)
            self.target = engines[0] if engines else SIMULATED
        world = self.target.split(":", 1)[0]
        world = world if world in OFFLINE_WORLDS else ""
        if not engines:
            if not world:
                raise IEError(f"target {self.target!r} needs --engine: the web to search, e.g. --engine openverse "
                              "(no key) or --engine flickr (FLICKR_API_KEY); `ie plugins` lists the engines")
            self.engines = engines = list(OFFLINE_WORLDS[world]["engines"])
        own_web = bool(world) and set(engines) <= set(OFFLINE_WORLDS[world]["engines"])
        defaults = OFFLINE_WORLDS[world] if own_web else REAL_WEB
        if self.vocab == AUTO:
            self.vocab = defaults["vocab"]
        if self.embedder == AUTO:  # the hashing embedder is made for the simulated vocabulary only
            self.embedder = OFFLINE_WORLDS[SIMULATED]["embedder"] if self.vocab == SIMULATED else REAL_WEB["embedder"]
        if real_engines and (self.vocab == SIMULATED or world == SIMULATED):
            what, fix = ((f"vocabulary (vocab {SIMULATED})", "--vocab wordnet (or leave --vocab out)")
                         if self.vocab == SIMULATED else
                         (f"target ({self.target})", "--target with a folder of your images"))
            raise IEError(f"engine {real_engines[0]} searches the real web, but the {what} is the simulated one: "
                          f"pass {fix}")

    def _check_types(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            hint = _field_types()[f.name]
            kind = typing.get_origin(hint) or hint
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
                setattr(self, f.name, value)
            if kind is list and isinstance(value, tuple):
                value = list(value)
                setattr(self, f.name, value)
            if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
                raise IEError(f"config {f.name} = {value!r}: must be {kind.__name__} ({f.metadata['help']})")
        for name, choices in CHOICES.items():
            value = getattr(self, name)
            if value not in choices:
                raise IEError(f"config {name} = {value!r}: use one of {', '.join(choices)}{nearest(value, choices)}")
        if not all(isinstance(engine, str) for engine in self.engines):
            raise IEError(f"config engines = {self.engines!r}: must be a list of engine names")

    def plugin_options(self, kind: str, name: str) -> dict[str, Any]:
        return dict(self.options.get(kind, {}).get(name, {}))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExploreConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            hints = "".join(nearest(key, names) for key in unknown)
            raise IEError(f"unknown config keys: {', '.join(unknown)}{hints} (see `ie config show`)")
        return cls(**data)

    @classmethod
    def from_saved(cls, data: dict[str, Any]) -> ExploreConfig:
        """A run's stored config: fields added since it was written take the value that reproduces how that
        run behaved (:data:`LEGACY_VALUES`), not today's default, so resuming an old run changes nothing."""
        return cls.from_dict({**LEGACY_VALUES, **data})

    @property
    def model_feature_size(self) -> int:
        """The resolution the reward and the evaluation use: ``feature_size``, or ``image_size`` when 0."""
        return self.feature_size or self.image_size


AUTO = "auto"
SIMULATED = "simweb"
# The offline worlds a target brings with it: its web (engines) and, for the simulated one, its own vocabulary
# and text embedder. Any other target or engine is the real web: the paper's vocabulary and embedder.
OFFLINE_WORLDS: dict[str, dict[str, Any]] = {
    "simweb": {"engines": ["simweb"], "vocab": "simweb", "embedder": "hashing"},
    "clipart": {"engines": ["clipart"], "vocab": "wordnet", "embedder": "minilm"},
}
REAL_WEB: dict[str, Any] = {"vocab": "wordnet", "embedder": "minilm"}


class TargetNeededError(IEError):
    """A real engine with no ``--target``: the engines are named so the CLI can add their missing keys."""

    def __init__(self, engines: list[str]):
        self.engines = engines
        super().__init__(f"--target is needed with engine {', '.join(engines)}: a folder of your images (e.g. "
                         "--target ./my_images) or a dataset name (`ie plugins` lists the targets); without one, "
                         "the run would search the web for the simulated target")


# fields added after runs were first stored -> the value that reproduces a run stored without them
LEGACY_VALUES: dict[str, Any] = {"feature_size": 0, "pad_short_queries": False, "reward_background": 0,
                                 "licenses": []}

# the run-level choices a typo in must stop a run before it starts (plugin names are checked by their registries)
CHOICES = {"policy": ("gp", "random", "no-gp"), "finetune": ("auto", "gentle", "full")}


@functools.cache
def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(ExploreConfig)


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ie" / "config.toml"


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise IEError(f"{path}: not valid TOML: {err}") from None
    except OSError as err:
        raise IEError(f"cannot read config {path}: {err.strerror}") from None


def find_secrets(data: Any, prefix: str = "") -> list[str]:
    """Dotted paths of keys that look like secrets."""
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict):
                found += find_secrets(value, path + ".")
            elif SECRET_PATTERN.search(str(key)) and value:
                found.append(path)
    return found


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> ExploreConfig:
    """Defaults < the project file (``path`` or ./ie.toml) < ``overrides`` (None values ignored)."""
    data: dict[str, Any] = {}
    file = Path(path) if path else Path("ie.toml")
    if path or file.exists():
        data = read_toml(file)
        secrets = find_secrets(data)
        if secrets:
            raise IEError(
                f"{file} holds secrets ({', '.join(secrets)}); put API keys in environment variables "
                f"or the [secrets] table of {user_config_path()}, never in a project or run config"
            )
        data = data.get("explore", data)
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return ExploreConfig.from_dict(data)


def user_secrets() -> dict[str, str]:
    """Secrets from the user config file's [secrets] table (environment variables win at use)."""
    path = user_config_path()
    if not path.exists():
        return {}
    return {str(k): str(v) for k, v in read_toml(path).get("secrets", {}).items()}


def secrets_status(names: list[str]) -> dict[str, str]:
    """For each secret in ``names`` (the environment variables plugins declare in ``SECRETS``): 'set (env)',
    'set (user config)' or 'missing'; never the value."""
    from_file = user_secrets()
    return {
        name: "set (env)" if os.environ.get(name) else "set (user config)" if from_file.get(name) else "missing"
        for name in names
    }
