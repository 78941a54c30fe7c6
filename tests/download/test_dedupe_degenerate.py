"""Part 10 item 4: degenerate perceptual hashes never drop a distinct image; true near-duplicates are still caught.

Item 5: a library warning raised while decoding is recorded with the image, never printed.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hostile_web import image_bytes
from PIL import Image

from ie.api import Outcome
from ie.download import DedupeIndex
from ie.download.signature import confirms_duplicate, is_degenerate
from ie.download.validate import ImageOptions, Processed, process_image

OPTS = ImageOptions(min_size=8)


def jpeg(pixels: np.ndarray, quality: int = 90, orientation: int | None = None) -> bytes:
    im = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    kwargs = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality, **kwargs)
    return out.getvalue()


def processed(data: bytes) -> Processed:
    result = process_image(data, OPTS)
    assert isinstance(result, Processed)
    return result


def flat(rgb: tuple[int, int, int], size: tuple[int, int] = (96, 128)) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, dtype=np.float64), (*size, 3)).copy()


def faint_gradient(axis: int, amplitude: float = 6.0, base: int = 128) -> np.ndarray:
    h, w = 96, 128
    ramp = np.linspace(-amplitude, amplitude, (h, w)[axis])
    field = ramp[:, None] if axis == 0 else ramp[None, :]
    return np.repeat((base + np.broadcast_to(field, (h, w)))[..., None], 3, axis=2)


def red_blue(rotated: bool) -> bytes:
    """Red left half, blue right half; stored rotated with an EXIF tag that turns it back when rotated."""
    pixels = flat((255, 0, 0))
    pixels[:, 64:] = (0, 0, 255)
    if not rotated:
        return jpeg(pixels)
    return jpeg(np.rot90(pixels, k=1), orientation=6)  # orientation 6: display rotated 90 degrees clockwise


def hamming(a: Processed, b: Processed) -> int:
    return (int(a.phash, 16) ^ int(b.phash, 16)).bit_count()


DISTINCT_NEAR_FLAT = {
    "grey vs red/blue (EXIF-rotated)": (jpeg(flat((90, 90, 90))), red_blue(rotated=True)),
    "flat red vs flat green (same luminance)": (jpeg(flat((200, 0, 0))), jpeg(flat((0, 102, 0)))),
    "flat grey vs flat blue": (jpeg(flat((128, 128, 128))), jpeg(flat((40, 40, 220)))),
    "faint horizontal vs faint vertical gradient": (jpeg(faint_gradient(0)), jpeg(faint_gradient(1))),
    "faint gradient vs flat of the same grey": (jpeg(faint_gradient(1, amplitude=12)), jpeg(flat((128, 128, 128)))),
}


@pytest.mark.parametrize("case", DISTINCT_NEAR_FLAT)
def test_distinct_near_flat_images_are_both_kept(case: str) -> None:
    a, b = (processed(x) for x in DISTINCT_NEAR_FLAT[case])
    index = DedupeIndex(phash_threshold=4)
    assert index.check_and_add(a.sha256, a.raw_sha256, a.phash, a.signature)[0] is Outcome.OK
    assert index.check_and_add(b.sha256, b.raw_sha256, b.phash, b.signature)[0] is Outcome.OK


def test_near_flat_pairs_do_collide_on_the_hash_alone() -> None:
    """The cases above are real traps: most of them are within the near-duplicate radius by hash alone."""
    pairs = [tuple(processed(x) for x in pair) for pair in DISTINCT_NEAR_FLAT.values()]
    colliding = [hamming(a, b) <= 4 for a, b in pairs]
    assert sum(colliding) >= 3, colliding
    assert all(is_degenerate(int(a.phash, 16), a.signature) for a, _ in pairs[1:3])


def textured(seed: int) -> bytes:
    return image_bytes((320, 240), seed=seed)


def variants(seed: int) -> dict[str, bytes]:
    im = Image.open(io.BytesIO(textured(seed))).convert("RGB")
    pixels = np.asarray(im).astype(np.float64)
    return {
        "resized": jpeg(np.asarray(im.resize((160, 120), Image.Resampling.LANCZOS)).astype(np.float64)),
        "re-encoded q35": jpeg(pixels, quality=35),
        "EXIF-rotated": jpeg(np.rot90(pixels, k=1), orientation=6),
        "upscaled + q60": jpeg(np.asarray(im.resize((640, 480))).astype(np.float64), quality=60),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_true_near_duplicates_are_dropped(seed: int) -> None:
    original = processed(textured(seed))
    index = DedupeIndex(phash_threshold=4)
    assert index.check_and_add(original.sha256, original.raw_sha256, original.phash, original.signature)[0] \
        is Outcome.OK
    for name, data in variants(seed).items():
        copy = processed(data)
        verdict, reason = index.check_and_add(copy.sha256, copy.raw_sha256, copy.phash, copy.signature)
        assert verdict is Outcome.NEAR_DUPLICATE, (name, reason, hamming(original, copy))


def test_flat_copy_of_a_flat_image_is_a_near_duplicate() -> None:
    """Degenerate is not exempt: the colour thumbnails confirm a re-encoded flat picture."""
    a, b = processed(jpeg(flat((30, 160, 90)))), processed(jpeg(flat((30, 160, 90)), quality=40))
    assert confirms_duplicate(a.signature, b.signature)
    index = DedupeIndex(phash_threshold=4)
    index.check_and_add(a.sha256, a.raw_sha256, a.phash, a.signature)
    assert index.check_and_add(b.sha256, b.raw_sha256, b.phash, b.signature)[0] is Outcome.NEAR_DUPLICATE


def test_without_signatures_a_degenerate_hash_never_decides_alone() -> None:
    """Images stored before signatures existed: the hash decides alone only when it is not degenerate."""
    grey, blue = processed(jpeg(flat((128, 128, 128)))), processed(jpeg(flat((40, 40, 220))))
    index = DedupeIndex().seed_from_store([(grey.sha256, grey.phash, None)])
    assert index.check_and_add(blue.sha256, blue.raw_sha256, blue.phash, None)[0] is Outcome.OK
    a, a_copy = processed(textured(4)), processed(variants(4)["re-encoded q35"])
    index = DedupeIndex().seed_from_store([(a.sha256, a.phash, None)])
    assert index.check_and_add(a_copy.sha256, a_copy.raw_sha256, a_copy.phash, None)[0] is Outcome.NEAR_DUPLICATE


def test_distinct_leak_lookalike_is_not_a_leak() -> None:
    """The leak check uses the same confirmation: a flat blue download is not a leak of a flat grey test image."""
    grey, blue = processed(jpeg(flat((128, 128, 128)))), processed(jpeg(flat((40, 40, 220))))
    index = DedupeIndex().add_leak_hashes([(grey.raw_sha256, grey.phash, grey.signature)])
    assert index.check_and_add(blue.sha256, blue.raw_sha256, blue.phash, blue.signature)[0] is Outcome.OK
    copy = processed(jpeg(flat((128, 128, 128)), quality=50))
    assert index.check_and_add(copy.sha256, copy.raw_sha256, copy.phash, copy.signature)[0] is Outcome.LEAK


def test_decoder_warnings_are_recorded_not_printed(monkeypatch: pytest.MonkeyPatch,
                                                   capfd: pytest.CaptureFixture[str]) -> None:
    """Pillow's DecompressionBombWarning (pixels above its limit, below twice it) on every image of a thread pool."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 320 * 240 - 100)
    data = [textured(seed) for seed in range(12)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda d: process_image(d, OPTS), data))
    assert all(isinstance(r, Processed) for r in results)
    assert [r.reason for r in results] == ["ok_warned_DecompressionBombWarning"] * len(data)
    out, err = capfd.readouterr()
    assert "Warning" not in out + err
    clean = process_image(image_bytes((100, 80)), OPTS)
    assert isinstance(clean, Processed) and clean.reason == "ok" and clean.warnings == ()


def test_warnings_outside_a_decode_still_reach_the_hook_that_was_there(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI prints warnings its own way: decoding must not steal the ones raised elsewhere."""
    import warnings

    from ie.download.quiet import recorded_warnings

    heard: list[str] = []
    monkeypatch.setattr(warnings, "showwarning", lambda message, *args, **kwargs: heard.append(str(message)))
    with recorded_warnings() as inside:
        warnings.warn("inside the decode block", UserWarning, stacklevel=1)
    warnings.warn("outside any decode block", UserWarning, stacklevel=1)
    assert inside == ["UserWarning"] and heard == ["outside any decode block"]
