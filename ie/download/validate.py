"""Turn downloaded bytes into a clean RGB JPEG, or a reason why not.

Runs in a worker (thread or process): :func:`process_image` is a top-level, picklable function of plain
arguments. Pillow releases the GIL while it decodes, resizes and encodes, so threads scale across cores.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ie.api import Outcome
from ie.download.quiet import recorded_warnings
from ie.download.signature import colour_signature

# Formats we decode, by sniffed magic bytes. Pillow is told to try only the sniffed one, so a hostile body can
# never reach an exotic or external decoder (EPS -> Ghostscript, ...). HEIC needs pillow-heif: reported as such.
_PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP", "bmp": "BMP", "tiff": "TIFF",
                   "avif": "AVIF"}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


def sniff(data: bytes) -> str | None:
    """The image format from the first bytes (never from Content-Type), or None."""
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM" and len(head) >= 14:
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp":
        brands = {head[8:12]} | {head[i:i + 4] for i in range(16, min(len(head), 32), 4)}
        if brands & _AVIF_BRANDS:
            return "avif"
        if brands & _HEIF_BRANDS:
            return "heic"
    return None


@dataclass(frozen=True)
class ImageOptions:
    """The image half of DownloadOptions (picklable, sent to workers)."""

    min_size: int = 32
    max_aspect: float = 4.0
    max_pixels: int = 64_000_000
    resize_shorter: int | None = 256
    jpeg_quality: int = 90
    hash_kind: str = "phash"


@dataclass(frozen=True)
class Processed:
    """A validated image: the re-encoded JPEG and its hashes."""

    data: bytes
    width: int
    height: int
    sha256: str
    raw_sha256: str
    phash: str
    src_width: int
    src_height: int
    format: str
    signature: str | None = None  # 8x8 RGB thumbnail (hex) that confirms perceptual-hash near-duplicates
    warnings: tuple[str, ...] = ()  # class names of the library warnings its decoding raised

    @property
    def reason(self) -> str:
        """The reason recorded for a kept image: ``ok``, or ``ok_warned_<Warning>[+<Warning>]``."""
        return "ok_warned_" + "+".join(self.warnings) if self.warnings else "ok"


@dataclass(frozen=True)
class Rejected:
    outcome: Outcome
    reason: str


def perceptual_hash(im: Image.Image, kind: str = "phash") -> str:
    """64-bit perceptual hash as 16 hex digits (imagehash's str())."""
    fn = imagehash.dhash if kind == "dhash" else imagehash.phash
    return str(fn(im))


def _to_rgb(im: Image.Image) -> Image.Image:
    """RGB for every mode: alpha and palette transparency composited on white, 16/32-bit scaled to 8 bits."""
    if im.mode == "RGB":
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im, dtype=np.float32)
        peak = 65535.0 if im.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        return Image.fromarray(np.clip(arr * (255.0 / peak), 0, 255).astype(np.uint8), "L").convert("RGB")
    if im.mode == "F":
        arr = np.asarray(im, dtype=np.float32)
        hi = float(arr.max(initial=0)) or 1.0
        scale = 255.0 if hi <= 1.0 else 255.0 / hi
        return Image.fromarray(np.clip(arr * scale, 0, 255).astype(np.uint8), "L").convert("RGB")
    if im.mode == "P" and "transparency" in im.info or im.mode in ("PA", "LA", "La", "RGBa"):
        im = im.convert("RGBA")
    if im.mode == "RGBA":
        white = Image.new("RGB", im.size, (255, 255, 255))
        white.paste(im, mask=im.getchannel("A"))
        return white
    return im.convert("RGB")


def _target_size(w: int, h: int, shorter: int | None) -> tuple[int, int]:
    if not shorter or min(w, h) <= shorter:
        return w, h
    if w <= h:
        return shorter, max(1, round(h * shorter / w))
    return max(1, round(w * shorter / h)), shorter


def process_image(data: bytes, opts: ImageOptions) -> Processed | Rejected:
    """Sniff, bound, decode, orient, convert, filter, resize and re-encode one image. Never raises, never prints:
    a library warning (Pillow's DecompressionBombWarning, a corrupt EXIF block, ...) is kept in ``warnings``."""
    with recorded_warnings() as warned:
        result = _process_or_reject(data, opts)
    if warned and isinstance(result, Processed):
        result = dataclasses.replace(result, warnings=tuple(warned))
    return result


def _process_or_reject(data: bytes, opts: ImageOptions) -> Processed | Rejected:
    try:
        return _process(data, opts)
    except Image.DecompressionBombError:
        return Rejected(Outcome.DECOMPRESSION_BOMB, "decompression_bomb")
    except MemoryError:
        return Rejected(Outcome.DECOMPRESSION_BOMB, "memory_error")
    except Exception as exc:  # noqa: BLE001 - any decoder failure on hostile bytes is a decode error
        return Rejected(Outcome.DECODE_ERROR, f"decode_error_{type(exc).__name__}")


def _process(data: bytes, opts: ImageOptions) -> Processed | Rejected:
    if not data:
        return Rejected(Outcome.NOT_IMAGE, "empty_body")
    fmt = sniff(data)
    if fmt is None:
        return Rejected(Outcome.NOT_IMAGE, "not_image")
    if fmt not in _PILLOW_FORMATS:
        return Rejected(Outcome.DECODE_ERROR, f"unsupported_format_{fmt}")
    formats = [_PILLOW_FORMATS[fmt]]
    try:
        # Opening parses the header only. Check its size ourselves before any pixel is decoded: thread-safe
        # (unlike turning Pillow's DecompressionBombWarning into an error) and a 30000x30000 header costs nothing.
        with Image.open(io.BytesIO(data), formats=formats) as probe:
            src_w, src_h = probe.size
            if src_w * src_h > opts.max_pixels or src_w <= 0 or src_h <= 0:
                return Rejected(Outcome.DECOMPRESSION_BOMB, "decompression_bomb")
            if min(src_w, src_h) < opts.min_size:
                return Rejected(Outcome.TOO_SMALL, "too_small")
            if max(src_w, src_h) / min(src_w, src_h) > opts.max_aspect:
                return Rejected(Outcome.BAD_ASPECT, "bad_aspect")
            probe.verify()  # structure and checksums (PNG CRCs, ...) before decoding
        im = Image.open(io.BytesIO(data), formats=formats)
    except UnidentifiedImageError:
        return Rejected(Outcome.DECODE_ERROR, f"decode_error_{fmt}")
    target = _target_size(src_w, src_h, opts.resize_shorter)
    if fmt == "jpeg" and target != (src_w, src_h):
        # libjpeg's DCT scaling: decode at 1/2, 1/4 or 1/8 size, still >= the target. Several times faster.
        im.draft("RGB", target)
    if getattr(im, "n_frames", 1) > 1:
        im.seek(0)  # animated GIF / WebP / APNG: the first frame
    im.load()
    orientation = im.getexif().get(0x0112, 1)
    im = _to_rgb(im)
    if im.size != target:
        im = im.resize(target, Image.Resampling.BICUBIC, reducing_gap=2.0)
    if orientation != 1:
        im.info["exif"] = _orientation_exif(orientation)
        im = ImageOps.exif_transpose(im)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=opts.jpeg_quality)
    encoded = out.getvalue()
    return Processed(
        data=encoded, width=im.width, height=im.height, sha256=hashlib.sha256(encoded).hexdigest(),
        raw_sha256=hashlib.sha256(data).hexdigest(), phash=perceptual_hash(im, opts.hash_kind),
        src_width=src_w, src_height=src_h, format=fmt, signature=colour_signature(im),
    )


def _orientation_exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def hash_file(path: str, opts: ImageOptions | None = None) -> tuple[str, str, str | None] | None:
    """(raw sha256, perceptual hash, colour signature) of an image file as the downloader would see it; None if
    undecodable.

    Used to build the leak index from a target's test/val images.
    """
    opts = opts or ImageOptions(min_size=1, max_aspect=1e9)
    with open(path, "rb") as fh:
        data = fh.read()
    result = process_image(data, opts)
    return (result.raw_sha256, result.phash, result.signature) if isinstance(result, Processed) else None
