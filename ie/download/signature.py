"""A second opinion on near-duplicates: a tiny colour thumbnail that confirms (or vetoes) a perceptual-hash match.

A 64-bit perceptual hash is computed on grey levels, so it cannot tell a red/blue picture from a grey one of the same
luminance, and a flat or near-flat image hashes to an almost arbitrary pattern (its DCT is noise). Such hashes are
*degenerate*: they never drop an image on their own. Every near-duplicate found by Hamming distance is confirmed by
comparing 8x8 area-averaged RGB thumbnails: close in colour, and with the same structure when the images have any.
Area averaging makes the thumbnail robust to what a true near-duplicate goes through (resizing, re-encoding, EXIF
orientation applied before hashing), while colour and structure tell distinct pictures apart.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SIDE = 8  # thumbnail side: 8x8x3 = 192 bytes, 384 hex digits per image
MAX_COLOUR_DIFF = 12.0  # mean absolute difference of the thumbnails, 0-255 levels, for a confirmed duplicate
MIN_STRUCTURE_CORR = 0.8  # Pearson correlation of the thumbnails' luminance when both have structure
FLAT_STD = 2.0  # luminance std (levels) below which a thumbnail has no structure: a flat image
MIN_BITS = 8  # a 64-bit hash with fewer than this many bits set (or more than 64 - MIN_BITS) is degenerate


def colour_signature(im: Image.Image) -> str:
    """The 8x8 area-averaged RGB thumbnail of ``im`` (already oriented), as hex."""
    thumb = im.convert("RGB").resize((SIDE, SIDE), Image.Resampling.BOX)
    return thumb.tobytes().hex()


def _pixels(signature: str) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(signature), dtype=np.uint8).astype(np.float32).reshape(-1, 3)


def _luminance(pixels: np.ndarray) -> np.ndarray:
    return pixels @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def is_flat(signature: str) -> bool:
    """No structure: every thumbnail cell has (almost) the same luminance."""
    return float(_luminance(_pixels(signature)).std()) < FLAT_STD


def is_degenerate(phash: int, signature: str | None = None, bits: int = 64) -> bool:
    """A hash that cannot tell images apart: too few or too many bits set, or the image is flat."""
    ones = phash.bit_count()
    if ones < MIN_BITS or ones > bits - MIN_BITS:
        return True
    return signature is not None and is_flat(signature)


def confirms_duplicate(a: str, b: str) -> bool:
    """Whether two thumbnails agree that a perceptual-hash match is a true near-duplicate."""
    pa, pb = _pixels(a), _pixels(b)
    if pa.shape != pb.shape or float(np.abs(pa - pb).mean()) > MAX_COLOUR_DIFF:
        return False
    la, lb = _luminance(pa), _luminance(pb)
    sa, sb = float(la.std()), float(lb.std())
    if min(sa, sb) < FLAT_STD:
        # at least one is flat: the same picture only if the other is (about) as flat, in the same colour
        return abs(sa - sb) < FLAT_STD
    return float(np.corrcoef(la, lb)[0, 1]) >= MIN_STRUCTURE_CORR
