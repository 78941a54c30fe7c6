"""Descriptor providers ("baby duck"): words that make a concept's query more specific.

* ``adjectives`` (offline, default): a curated list of visual adjectives in groups (age, size, colour,
  pattern, material, condition, setting); each concept gets a deterministic, concept-specific choice
  (seeded by its id), one group after another, so a concept's descriptors are diverse and repeatable.
* ``llm``: a local causal language model (``transformers``; the paper used GPT-J-6B) prompted with a
  fixed few-shot prompt in the style of the paper's descriptor prompt; only loaded when configured with
  option ``model_path``. ``transformers`` is imported inside the provider, never at import time.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from ie.api import Concept, DescriptorProvider, Option, WeightsUnavailableError, hookimpl

ADJECTIVES: dict[str, tuple[str, ...]] = {
    "age": ("baby", "young", "juvenile", "adult", "old", "ancient", "vintage", "modern", "antique", "new"),
    "size": ("small", "large", "tiny", "giant", "miniature", "tall", "long", "short", "wide", "thin"),
    "colour": ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "grey",
               "golden", "silver", "colorful"),
    "pattern": ("striped", "spotted", "patterned", "plain", "speckled", "checkered", "dotted"),
    "material": ("wooden", "metal", "glass", "plastic", "stone", "leather", "woven", "ceramic", "paper"),
    "condition": ("wild", "domestic", "fresh", "dried", "wet", "frozen", "ripe", "broken", "shiny", "rusty",
                  "fluffy", "smooth", "rough", "hairy"),
    "setting": ("close-up", "outdoor", "indoor", "in the wild", "at night", "in the snow", "underwater",
                "on a white background"),
}

# few-shot prompt in the style of the paper's GPT-J descriptor prompt; {concept} is the lemma
LLM_PROMPT = (
    'What are some words that describe the quality of "{concept}"?\n'
    "The {concept} is frail.\nThe {concept} is red.\nThe {concept} is humongous.\n"
    "The {concept} is tall.\nThe {concept} is"
)


def _seed(concept: Concept, salt: str = "") -> int:
    return int.from_bytes(hashlib.sha256((salt + concept.id).encode("utf-8")).digest()[:8], "big")


class AdjectiveDescriptors(DescriptorProvider):
    """Options: ``groups`` (subset of :data:`ADJECTIVES` keys), ``salt`` (changes every choice)."""

    name = "adjectives"
    OPTIONS = (
        Option("groups", list, None, f"adjective groups to draw from (default: all of {', '.join(ADJECTIVES)})"),
        Option("salt", str, "", "changes which adjectives a concept gets, deterministically"),
    )

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        groups = self.options["groups"] or list(ADJECTIVES)
        unknown = set(groups) - set(ADJECTIVES)
        if unknown:
            raise ValueError(f"unknown adjective groups {sorted(unknown)}; known: {sorted(ADJECTIVES)}")
        self.groups = [ADJECTIVES[g] for g in groups]
        self.salt = str(self.options["salt"])

    def descriptors(self, concept: Concept, n: int) -> list[str]:
        seed = _seed(concept, self.salt)
        order = sorted(range(len(self.groups)), key=lambda g: hashlib.sha256(f"{seed}:{g}".encode()).digest())
        out: list[str] = []
        rounds = 0
        name = concept.name.lower()
        while len(out) < n and rounds < max(len(g) for g in self.groups):
            for g in order:
                words = self.groups[g]
                word = words[(seed // (g + 1) + rounds) % len(words)]
                if word not in out and word not in name and len(out) < n:
                    out.append(word)
            rounds += 1
        return out


class LLMDescriptors(DescriptorProvider):
    """Options: ``model_path`` (a local transformers causal-LM folder, required), ``device`` ("cpu"),
    ``max_new_tokens`` (4), ``temperature`` (0.9), ``seed`` (0)."""

    name = "llm"
    OPTIONS = (
        Option("model_path", str, None, "a local Hugging Face text-generation model folder (required)"),
        Option("device", str, "cpu", "where the model runs: cpu | cuda"),
        Option("max_new_tokens", int, 4, "tokens generated per descriptor"),
        Option("temperature", float, 0.9, "sampling temperature"),
    )

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        if not self.options["model_path"]:
            raise WeightsUnavailableError(
                "descriptors 'llm' needs option model_path: a local transformers model folder "
                "(the paper used GPT-J-6B); use descriptors 'adjectives' to run without one")
        self._pipe: Any = None

    def _pipeline(self) -> Any:
        if self._pipe is None:
            try:
                from transformers import pipeline
            except ImportError as err:
                raise WeightsUnavailableError(f"descriptors 'llm' needs transformers installed: {err}") from err
            try:
                self._pipe = pipeline("text-generation", model=str(self.options["model_path"]),
                                      device=self.options["device"], model_kwargs={"local_files_only": True})
            except Exception as err:  # noqa: BLE001 - any load failure means these weights are unusable
                raise WeightsUnavailableError(f"descriptors 'llm': cannot load {self.options['model_path']}: {err}") from err
        return self._pipe

    def descriptors(self, concept: Concept, n: int) -> list[str]:
        from transformers import set_seed

        set_seed(int(self.options.get("seed") or 0) + _seed(concept) % 2**31)
        outs = self._pipeline()(
            LLM_PROMPT.format(concept=concept.name), do_sample=True, num_return_sequences=max(2 * n, 1),
            max_new_tokens=int(self.options["max_new_tokens"]),
            temperature=float(self.options["temperature"]), return_full_text=False)
        return parse_completions([o["generated_text"] for o in outs], concept, n)


def parse_completions(completions: list[str], concept: Concept, n: int) -> list[str]:
    """The first word of each completion (letters and hyphens), deduplicated, at most ``n``."""
    out: list[str] = []
    for text in completions:
        match = re.match(r"\s*([A-Za-z][A-Za-z-]*)", text)
        word = match.group(1).lower() if match else ""
        if word and word not in out and word not in concept.name.lower().split():
            out.append(word)
    return out[:n]


@hookimpl
def ie_register_descriptors(register):  # type: ignore[no-untyped-def]
    register("adjectives", AdjectiveDescriptors, help="curated visual adjectives (offline)")
    register("llm", LLMDescriptors, help="a local language model proposes descriptors (option model_path)")
