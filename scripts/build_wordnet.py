"""Build plugins/vocabularies/data/wordnet_nouns.tsv.gz from WordNet 3.0's ``data.noun`` (wndb(5) format).

Get the database files offline from Debian's ``wordnet-base`` package (no install needed)::

    cd /tmp && apt-get download wordnet-base && dpkg -x wordnet-base*.deb wn
    python scripts/build_wordnet.py /tmp/wn/usr/share/wordnet/data.noun

One row per (synset, lemma) pair (146,347 rows): ``offset<TAB>lemma<TAB>hypernym<TAB>definition``.
``hypernym`` is the first lemma of the first ``@`` (hypernym) pointer, else of the first ``@i`` (instance
hypernym) pointer, else empty (the root, ``entity``). ``definition`` is the gloss without its quoted
examples (as nltk's ``Synset.definition()``). Lemmas keep WordNet's underscores; readers turn them into spaces.
Parsed by hand rather than with nltk, whose WordNet reader needs the ``lexnames`` file Debian does not ship.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "plugins" / "vocabularies" / "data" / "wordnet_nouns.tsv.gz"
_EXAMPLE = re.compile(r';\s*"')


def parse_line(line: str) -> tuple[str, list[str], list[tuple[str, str]], str]:
    """One wndb data line -> (offset, lemmas, [(pointer_symbol, target_offset)], gloss)."""
    head, _, gloss = line.partition(" | ")
    fields = head.split()
    offset, w_cnt = fields[0], int(fields[3], 16)
    lemmas = [fields[4 + 2 * i] for i in range(w_cnt)]
    pos = 4 + 2 * w_cnt
    p_cnt = int(fields[pos])
    pointers = []
    for i in range(p_cnt):
        symbol, target, target_pos = fields[pos + 1 + 4 * i: pos + 4 + 4 * i]
        if target_pos == "n":
            pointers.append((symbol, target))
    return offset, lemmas, pointers, gloss.strip()


def definition_of(gloss: str) -> str:
    """The gloss up to its first quoted example."""
    return _EXAMPLE.split(gloss, maxsplit=1)[0].strip().rstrip(";").strip()


def build(data_noun: Path) -> list[tuple[str, str, str, str]]:
    synsets = {}
    with open(data_noun, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("  "):  # licence header lines start with two spaces
                continue
            offset, lemmas, pointers, gloss = parse_line(line.rstrip("\n"))
            synsets[offset] = (lemmas, pointers, gloss)
    rows = []
    for offset, (lemmas, pointers, gloss) in synsets.items():
        hyper = next((t for s, t in pointers if s == "@"), None) or next((t for s, t in pointers if s == "@i"), None)
        hypernym = synsets[hyper][0][0] if hyper else ""
        definition = definition_of(gloss).replace("\t", " ")
        for lemma in lemmas:
            rows.append((offset, lemma, hypernym, definition))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_noun", type=Path, nargs="?", default=Path("/tmp/wn/usr/share/wordnet/data.noun"))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    rows = build(args.data_noun)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same input gives byte-identical output (reproducible builds)
    with open(args.out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write("".join("\t".join(r) + "\n" for r in rows).encode("utf-8"))
    print(f"{len(rows)} (synset, lemma) pairs from {len({r[0] for r in rows})} synsets -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
