"""How the colour-thumbnail confirmation (ie.download.signature) changes perceptual-hash near-duplicate verdicts
on real images: true near-duplicates (resized, re-encoded, EXIF-rotated copies) must still be confirmed; distinct
images whose hashes collide should be kept apart.

    python benchmarks/dedupe_confirmation.py                  # 2,000 clip-art images of the offline clipart data
    python benchmarks/dedupe_confirmation.py --folder DIR     # any folder of images
"""

from __future__ import annotations

import argparse
import io
import random
from pathlib import Path

from PIL import Image

from ie.download.dedupe import HammingIndex
from ie.download.signature import confirms_duplicate, is_degenerate
from ie.download.validate import ImageOptions, Processed, process_image

OPTS = ImageOptions(min_size=1, max_aspect=1e9)


def encode(im: Image.Image, quality: int = 90, orientation: int | None = None) -> bytes:
    out, kwargs = io.BytesIO(), {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    im.save(out, "JPEG", quality=quality, **kwargs)
    return out.getvalue()


def copies(im: Image.Image) -> dict[str, bytes]:
    """What a web serves of one picture: smaller, re-encoded, stored rotated with an EXIF tag."""
    half = im.resize((max(1, im.width // 2), max(1, im.height // 2)))
    third = im.resize((max(1, im.width // 3), max(1, im.height // 3)))
    return {"half size": encode(half), "quality 30": encode(im, 30),
            "EXIF-rotated": encode(im.transpose(Image.Transpose.ROTATE_90), orientation=6),
            "third size q50": encode(third, 50)}


def default_images() -> list[Path]:
    from ie.api import cache_dir

    return sorted((cache_dir() / "clipart" / "_images").rglob("*.jpg"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, help="images to use (default: the materialised clipart images)")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--threshold", type=int, default=4, help="Hamming radius (DownloadOptions.phash_threshold)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    files = sorted(p for p in args.folder.rglob("*") if p.is_file()) if args.folder else default_images()
    if not files:
        raise SystemExit("no images: materialise the clipart target once (`ie explore --target clipart ...`) "
                         "or pass --folder")
    random.Random(args.seed).shuffle(files)
    originals: list[Processed] = []
    true_pairs = vetoed = 0
    for path in files[: args.n]:
        data = path.read_bytes()
        original = process_image(data, OPTS)
        if not isinstance(original, Processed):
            continue
        originals.append(original)
        picture = Image.open(io.BytesIO(data)).convert("RGB")
        for copy_bytes in copies(picture).values():
            copy = process_image(copy_bytes, OPTS)
            if not isinstance(copy, Processed):
                continue
            if (int(original.phash, 16) ^ int(copy.phash, 16)).bit_count() <= args.threshold:
                true_pairs += 1
                vetoed += not confirms_duplicate(original.signature, copy.signature)
    index = HammingIndex(args.threshold)
    for i, p in enumerate(originals):
        index.add(int(p.phash, 16), i)
    colliding = confirmed = degenerate = 0
    for i, p in enumerate(originals):
        for _, j in index.within(int(p.phash, 16)):
            if j <= i or originals[j].sha256 == p.sha256:
                continue
            colliding += 1
            confirmed += confirms_duplicate(p.signature, originals[j].signature)
            degenerate += is_degenerate(int(p.phash, 16), p.signature)
    print(f"images: {len(originals)} (seed {args.seed}), Hamming radius {args.threshold}")
    print(f"true near-duplicate pairs within the radius: {true_pairs}; vetoed by the thumbnail: {vetoed}")
    print(f"distinct pairs colliding on the hash alone: {colliding}; confirmed by the thumbnail: {confirmed} "
          f"({colliding - confirmed} kept apart); degenerate hashes among them: {degenerate}")


if __name__ == "__main__":
    main()
