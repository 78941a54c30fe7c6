"""Licence names as engines report them ("CC BY-SA 4.0", "CC0 1.0", "Public Domain Mark 1.0", "Public domain",
"All Rights Reserved") -> a short family key and the licence's canonical URL, so exports carry both and
``ie export --license cc0,pdm,by,by-sa`` keeps only what a user may reuse.

Hand-written (a table and one regex): no maintained library maps free-text licence names of image APIs to
Creative Commons families; the SPDX list has the identifiers but not the engines' spellings.
"""

from __future__ import annotations

import re
from collections import Counter

# families, from most to least permissive; "arr" (all rights reserved) and unknown licences are never reusable
FAMILIES = ("cc0", "pdm", "by", "by-sa", "by-nd", "by-nc", "by-nc-sa", "by-nc-nd", "arr")
_CC = re.compile(r"\b(?:cc[ -])?(by(?:[ -](?:nc|sa|nd))*)(?:[ -]+(\d(?:\.\d)?))?\b", re.IGNORECASE)
_PUBLIC = ("public domain", "no known copyright restrictions", "united states government work", "pd-")


def licence_key(name: str | None) -> str | None:
    """The family of a licence name (``cc0``, ``pdm``, ``by``, ``by-sa``, ..., ``arr``), or None when unknown."""
    if not name:
        return None
    text = " ".join(str(name).lower().replace("_", " ").split())
    if text.startswith(("cc0", "cc-zero", "cc zero")) or "publicdomain/zero" in text:
        return "cc0"
    if "public domain mark" in text or text.startswith("pdm") or "publicdomain/mark" in text:
        return "pdm"
    if text.startswith(_PUBLIC):
        return "pdm"
    if "all rights reserved" in text or text in ("arr", "copyrighted"):
        return "arr"
    match = _CC.search(text.replace("attribution", "by").replace("sharealike", "sa").replace("share alike", "sa"))
    if match and (text.startswith(("cc", "by")) or "creativecommons" in text or "creative commons" in text):
        parts = [p for p in re.split(r"[ -]", match.group(1).lower()) if p]
        order = {"by": 0, "nc": 1, "sa": 2, "nd": 2}
        key = "-".join(sorted(dict.fromkeys(parts), key=lambda p: order[p]))
        return key if key in FAMILIES else None
    return None


def licence_url(name: str | None) -> str | None:
    """The canonical URL of a Creative Commons licence or tool named ``name`` (its version where given; CC's
    current 4.0 otherwise), or None where there is none to point to (all rights reserved, unknown, other
    public-domain statements)."""
    key = licence_key(name)
    if key == "cc0":
        return "https://creativecommons.org/publicdomain/zero/1.0/"
    if key == "pdm" and name and ("mark" in name.lower() or name.lower().startswith("pdm")):
        return "https://creativecommons.org/publicdomain/mark/1.0/"
    if key is None or key in ("pdm", "arr"):
        return None
    version = re.search(r"(\d\.\d)", str(name))
    return f"https://creativecommons.org/licenses/{key}/{version.group(1) if version else '4.0'}/"


def parse_licence_filter(spec: str) -> frozenset[str]:
    """``"cc0,pdm,by,by-sa"`` -> the families to keep; an unknown family is an error naming the known ones."""
    from ie.api import IEError, nearest

    keys = frozenset(k.strip().lower() for k in spec.split(",") if k.strip())
    for key in keys:
        if key not in FAMILIES:
            raise IEError(f"unknown licence {key!r}{nearest(key, FAMILIES)}; use a comma-separated list of "
                          f"{', '.join(FAMILIES[:-1])}")
    return keys


def licence_counts(names: list[str | None]) -> dict[str, int]:
    """Images per licence family (``unknown`` for a licence no family matches or none given), most first."""
    counts = Counter(licence_key(name) or "unknown" for name in names)
    return dict(counts.most_common())
