"""A third-party vocabulary plugin: a short list of garden birds (``garden-birds``).

A vocabulary only has to return its concepts in a stable order; ``text`` is what the text embedder sees
(here "{name}: {description}", like the paper's WordNet definitions). Option ``extra``: more names to add.

    pip install -e examples/custom_vocabulary
    ie vocab show garden-birds
    ie explore --vocab garden-birds ...
"""

from __future__ import annotations

from ie.api import Concept, Vocabulary, hookimpl

BIRDS = {
    "robin": "small thrush with a red breast",
    "blue tit": "small songbird with a blue cap and yellow underparts",
    "blackbird": "thrush, the male all black with a yellow bill",
    "house sparrow": "small brown and grey finch-like bird living near people",
    "goldfinch": "finch with a red face and yellow wing bars",
    "wren": "tiny brown bird with a cocked tail",
    "starling": "glossy dark bird with speckled plumage",
    "magpie": "black and white crow with a long tail",
}


class GardenBirds(Vocabulary):
    name = "garden-birds"

    def concepts(self) -> list[Concept]:
        names = {**BIRDS, **{str(n): "" for n in self.options.get("extra", []) if n not in BIRDS}}
        return [Concept(id=f"garden:{name.replace(' ', '_')}", name=name,
                        text=f"{name}: {description}" if description else name, vocabulary=self.name)
                for name, description in names.items()]


@hookimpl
def ie_register_vocabularies(register):  # type: ignore[no-untyped-def]
    register("garden-birds", GardenBirds, help="eight garden birds (example vocabulary)")
