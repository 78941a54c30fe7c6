"""Plain data passed between the loop and plugins. Frozen dataclasses: cheap, typed, picklable."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Literal, get_args


@dataclass(frozen=True)
class Concept:
    """One entry of a vocabulary, e.g. the WordNet lemma "red panda" of synset n02509815.

    ``text`` is what a text embedder sees (the paper: ``"{lemma} ({hypernym}): {definition}"``).
    """

    id: str
    name: str
    text: str = ""
    vocabulary: str = ""
    synset: str | None = None
    hypernym: str | None = None
    definition: str | None = None

    def embed_text(self) -> str:
        return self.text or self.name


@dataclass(frozen=True)
class Query:
    """A search string formed from a concept, optionally with a descriptor ("baby" + "duck")."""

    text: str
    concept_id: str
    descriptor: str | None = None


@dataclass(frozen=True)
class Hit:
    """One search result, normalised across engines."""

    url: str
    engine: str
    query: str
    rank: int
    thumbnail_url: str | None = None
    title: str | None = None
    source_page: str | None = None
    license: str | None = None
    attribution: str | None = None
    width: int | None = None
    height: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class SearchPage:
    """What an engine returns for one page of one query."""

    hits: list[Hit]
    has_more: bool


class Outcome(str, Enum):
    """Why a URL did or did not become an image in the run. Stored verbatim in the run store."""

    OK = "ok"
    HTTP_ERROR = "http_error"  # reason carries http_<status>
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    TOO_LARGE = "too_large"
    NOT_IMAGE = "not_image"
    DECODE_ERROR = "decode_error"
    DECOMPRESSION_BOMB = "decompression_bomb"
    TOO_SMALL = "too_small"
    BAD_ASPECT = "bad_aspect"
    DUPLICATE = "duplicate"
    NEAR_DUPLICATE = "near_duplicate"
    LEAK = "leak"
    BLOCKED_PRIVATE_ADDRESS = "blocked_private_address"
    BLOCKED_SCHEME = "blocked_scheme"
    INVALID_URL = "invalid_url"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    ROBOTS_NOAI = "robots_noai"
    DNS_ERROR = "dns_error"


@dataclass(frozen=True)
class DownloadOutcome:
    """The recorded fate of one URL. ``reason`` is a short machine-readable detail, e.g. ``http_404``."""

    url: str
    outcome: Outcome
    reason: str = ""
    status_code: int | None = None
    bytes: int = 0
    seconds: float = 0.0
    sha256: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def transient(self) -> bool:
        """A failure that may heal if the URL is tried again later (timeout, connection or DNS error, 408, 425,
        429, 5xx); every other outcome is permanent (404/410, not an image, too big, refused by policy, ...)."""
        if self.outcome is Outcome.HTTP_ERROR:
            return self.status_code in TRANSIENT_STATUS
        return self.outcome in TRANSIENT_OUTCOMES


TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
TRANSIENT_OUTCOMES = frozenset({Outcome.TIMEOUT, Outcome.CONNECTION_ERROR, Outcome.DNS_ERROR})


@dataclass(frozen=True)
class RetryPolicy:
    """How later runs retry a URL whose failure was transient: at most ``max_attempts`` runs try it (counted in
    the run store), the n-th retry no sooner than ``backoff * 2**(n-1)`` seconds after the last failure."""

    max_attempts: int = 3
    backoff: float = 30.0

    def retry_after(self, attempts: int, failed_at: float) -> float | None:
        """When the URL may be tried again after its ``attempts``-th transient failure; None: never."""
        if attempts >= self.max_attempts:
            return None
        return float(failed_at + self.backoff * 2 ** (attempts - 1))


@dataclass(frozen=True)
class ImageRecord:
    """A validated, re-encoded image stored content-addressed in the run directory."""

    sha256: str
    path: Path
    width: int
    height: int
    phash: str
    bytes: int
    source_url: str | None = None


@dataclass(frozen=True)
class LabeledImage:
    """An image file of a target dataset; ``label`` is None when the target is unlabeled."""

    path: Path
    label: int | None = None


@dataclass(frozen=True)
class TargetData:
    """A target dataset's splits. The test split is what the downloader's leak guard compares against."""

    name: str
    train: list[LabeledImage]
    val: list[LabeledImage] = field(default_factory=list)
    test: list[LabeledImage] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)

    @property
    def labeled(self) -> bool:
        return bool(self.train) and all(item.label is not None for item in self.train)


# every kind of RunEvent, with what its ``data`` holds:
#   run_started: config (the run's config as a dict)            iteration_started: -
#   stage_finished: stage (name) + what the stage reported       download_finished: urls, kept, transient, outcome_*
#   iteration_finished: the iteration's metrics                  checkpoint_saved: path, step
#   run_finished: status ("done" | "stopped") + report (path) or reason
EventKind = Literal["run_started", "iteration_started", "stage_finished", "download_finished", "iteration_finished",
                    "checkpoint_saved", "run_finished"]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)


@dataclass(frozen=True)
class RunEvent:
    """Something that happened in a run, sent to every run observer (``kind``: one of :data:`EventKind`)."""

    kind: EventKind
    run_dir: Path
    iteration: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown run event kind {self.kind!r}; kinds: {', '.join(EVENT_KINDS)}")
