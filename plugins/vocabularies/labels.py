"""``labels``: the target dataset's class names as concepts (the paper's label-set mode).

Options: ``class_names`` (a list, or a comma-separated string; underscores become spaces) and an
optional ``category`` word that is appended to make queries specific: with ``category = "flower"``,
"rose" becomes "rose flower" while "sunflower" and "wild flower" stay as they are (already ending in
the category). The embedder sees ``"{class name} ({category})"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ie.api import Concept, Option, PluginError, Vocabulary, hookimpl


def with_category(name: str, category: str) -> str:
    """``name`` plus ``category`` unless the name already ends with it (case-insensitive)."""
    if not category or name.lower().endswith(category.lower()):
        return name
    return f"{name} {category}"


class LabelsVocabulary(Vocabulary):
    """Options: ``class_names`` (required), ``category`` (optional)."""

    name = "labels"
    OPTIONS = (
        Option("category", str, "", "a word appended to every class name (e.g. 'bird')"),
    )

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        names = self.options.get("class_names") or []
        if isinstance(names, str):
            names = names.split(",")
        self.class_names = [str(n).replace("_", " ").strip() for n in names if str(n).strip()]
        if not self.class_names:
            raise PluginError("vocabulary 'labels' needs class_names (the target's classes; label-set mode)")
        self.category = str(self.options["category"] or "").strip()
        self._concepts: list[Concept] | None = None

    def concepts(self) -> Sequence[Concept]:
        if self._concepts is None:
            cat = self.category
            self._concepts = [
                Concept(id=f"label:{i}:{name}", name=with_category(name, cat),
                        text=f"{name} ({cat})" if cat else name, vocabulary="labels", hypernym=cat or None)
                for i, name in enumerate(self.class_names)
            ]
        return self._concepts


@hookimpl
def ie_register_vocabularies(register):  # type: ignore[no-untyped-def]
    register("labels", LabelsVocabulary, help="the target's class names (label-set mode; options class_names, category)")
