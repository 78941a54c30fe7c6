"""Procedural images of simweb concepts: a coloured, patterned shape on a background, with random pose and noise.

Everything is deterministic per (seed, concept slug, index, size); JPEG bytes are too, for one Pillow build.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

# name -> (family, RGB)
COLOURS: dict[str, tuple[str, tuple[int, int, int]]] = {
    "red": ("warm", (215, 35, 35)),
    "orange": ("warm", (240, 130, 25)),
    "yellow": ("warm", (235, 205, 35)),
    "pink": ("warm", (235, 120, 175)),
    "blue": ("cool", (35, 75, 215)),
    "green": ("cool", (40, 165, 60)),
    "purple": ("cool", (130, 55, 185)),
    "teal": ("cool", (25, 150, 150)),
    "black": ("neutral", (25, 25, 25)),
    "white": ("neutral", (245, 245, 245)),
    "grey": ("neutral", (125, 125, 125)),
    "brown": ("neutral", (125, 80, 40)),
}
# name -> (family, description)
SHAPES: dict[str, tuple[str, str]] = {
    "circle": ("round", "a perfectly round disc"),
    "oval": ("round", "an elongated round ellipse"),
    "ring": ("round", "a round band with a hole in the middle"),
    "crescent": ("round", "a curved sliver like a new moon"),
    "triangle": ("angular", "a polygon with three straight sides and three corners"),
    "square": ("angular", "a polygon with four equal straight sides and four right angles"),
    "pentagon": ("angular", "a polygon with five straight sides and five corners"),
    "hexagon": ("angular", "a polygon with six straight sides and six corners"),
    "star": ("angular", "a pointed figure with five sharp spikes"),
    "cross": ("angular", "two straight bars crossing at right angles"),
}
# name -> (family, description)
PATTERNS: dict[str, tuple[str, str]] = {
    "solid": ("plain", "filled with one even colour"),
    "gradient": ("plain", "shading smoothly from light to dark"),
    "striped": ("linear", "covered in parallel straight stripes"),
    "zigzag": ("linear", "covered in sharp zigzag stripes"),
    "wavy": ("linear", "covered in wavy curved stripes"),
    "checkered": ("tiled", "covered in a checkerboard of squares"),
    "dotted": ("tiled", "covered in a regular grid of round dots"),
    "speckled": ("tiled", "sprinkled with small random specks"),
}
# name -> (name suffix, description); "plain" adds no suffix to the concept name
BACKGROUNDS: dict[str, tuple[str, str]] = {
    "plain": ("", "on a plain light background"),
    "grass": ("on grass", "lying on green grass outdoors"),
    "night": ("at night", "against a dark night sky with stars"),
}


@dataclass(frozen=True)
class Appearance:
    """The visual attributes of one concept."""

    colour: str
    pattern: str
    shape: str
    background: str

    @property
    def slug(self) -> str:
        parts = [self.colour, self.pattern, self.shape]
        if self.background != "plain":
            parts += BACKGROUNDS[self.background][0].split()
        return "-".join(parts)


@lru_cache(maxsize=None)
def appearance_from_slug(slug: str) -> Appearance | None:
    """The attributes encoded in a slug such as ``blue-striped-star-at-night``; None if it is not one."""
    parts = slug.split("-")
    if len(parts) < 3:
        return None
    colour, pattern, shape, rest = parts[0], parts[1], parts[2], " ".join(parts[3:])
    backgrounds = {suffix: name for name, (suffix, _) in BACKGROUNDS.items()}
    if colour not in COLOURS or pattern not in PATTERNS or shape not in SHAPES or rest not in backgrounds:
        return None
    return Appearance(colour, pattern, shape, backgrounds[rest])


def rng_for(seed: int, slug: str, index: int) -> np.random.Generator:
    """The random stream of one image (stable across processes: crc32, not ``hash``)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(slug.encode()), int(index)])


@lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    return xs, ys


def _secondary(rgb: np.ndarray) -> np.ndarray:
    """The pattern's second colour: a dark shade of light colours, a light tint of dark ones."""
    luminance = float(rgb @ np.array([0.299, 0.587, 0.114]))
    return rgb * 0.35 if luminance > 80 else rgb + (255.0 - rgb) * 0.55


def _pattern(name: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A float32 map in [0, 1]: 0 is the primary colour, 1 the secondary."""
    xs, ys = _grid(size)
    theta = rng.uniform(0, np.pi)
    u = xs * np.cos(theta) + ys * np.sin(theta)
    v = -xs * np.sin(theta) + ys * np.cos(theta)
    period = size * rng.uniform(0.11, 0.17)
    phase = rng.uniform(0, period)
    if name == "solid":
        return np.zeros((size, size), np.float32)
    if name == "gradient":
        return np.clip((u - u.min()) / (np.ptp(u) + 1e-6), 0, 1).astype(np.float32)
    if name == "striped":
        return (np.sin(2 * np.pi * (u + phase) / period) > 0).astype(np.float32)
    if name == "zigzag":
        tri = np.abs(((v / period) % 1.0) - 0.5) * period
        return (np.sin(2 * np.pi * (u + tri + phase) / period) > 0).astype(np.float32)
    if name == "wavy":
        wave = 0.35 * period * np.sin(2 * np.pi * v / (2 * period))
        return (np.sin(2 * np.pi * (u + wave + phase) / period) > 0).astype(np.float32)
    if name == "checkered":
        return (np.sin(2 * np.pi * (u + phase) / period) * np.sin(2 * np.pi * v / period) > 0).astype(np.float32)
    if name == "dotted":
        cu, cv = ((u + phase) / period) % 1.0 - 0.5, (v / period) % 1.0 - 0.5
        return (cu * cu + cv * cv < 0.09).astype(np.float32)
    if name == "speckled":
        cells = -(-size // 3)
        specks = (rng.random((cells, cells)) < 0.3).astype(np.float32)
        return np.kron(specks, np.ones((3, 3), np.float32))[:size, :size]
    raise ValueError(f"unknown pattern {name!r}")


def _polygon(
    n: int, cx: float, cy: float, r: float, rot: float, inner: float | None = None
) -> list[tuple[float, float]]:
    """A regular polygon (or a star when ``inner`` is the inner radius ratio)."""
    count = n * 2 if inner else n
    angles = rot + np.arange(count) * 2 * np.pi / count
    radii = np.where(np.arange(count) % 2 == 1, r * inner, r) if inner else np.full(count, r)
    return list(zip((cx + radii * np.cos(angles)).tolist(), (cy + radii * np.sin(angles)).tolist()))


def _cross(cx: float, cy: float, r: float, rot: float) -> list[tuple[float, float]]:
    w = 0.32
    pts = np.array([(w, 1), (w, w), (1, w), (1, -w), (w, -w), (w, -1), (-w, -1), (-w, -w), (-1, -w), (-1, w),
                    (-w, w), (-w, 1)], np.float64) * r
    c, s = np.cos(rot), np.sin(rot)
    rotated = pts @ np.array([[c, s], [-s, c]])
    return [(cx + x, cy + y) for x, y in rotated.tolist()]


def _mask(shape: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A float32 {0, 1} mask of the shape at a random position, scale and rotation."""
    cx, cy = rng.uniform(0.3, 0.7, 2) * size
    r = rng.uniform(0.18, 0.36) * size
    rot = rng.uniform(0, 2 * np.pi)
    image = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(image)
    box = (cx - r, cy - r, cx + r, cy + r)
    if shape == "circle":
        draw.ellipse(box, fill=255)
    elif shape == "oval":
        angles = np.linspace(0, 2 * np.pi, 28, endpoint=False)
        xs, ys = r * np.cos(angles), 0.55 * r * np.sin(angles)
        c, s = np.cos(rot), np.sin(rot)
        draw.polygon(list(zip((cx + xs * c - ys * s).tolist(), (cy + xs * s + ys * c).tolist())), fill=255)
    elif shape == "ring":
        draw.ellipse(box, fill=255)
        q = r * rng.uniform(0.45, 0.6)
        draw.ellipse((cx - q, cy - q, cx + q, cy + q), fill=0)
    elif shape == "crescent":
        draw.ellipse(box, fill=255)
        dx, dy = 0.5 * r * np.cos(rot), 0.5 * r * np.sin(rot)
        draw.ellipse((cx - r + dx, cy - r + dy, cx + r + dx, cy + r + dy), fill=0)
    elif shape == "star":
        draw.polygon(_polygon(5, cx, cy, r * 1.15, rot, inner=0.42), fill=255)
    elif shape == "cross":
        draw.polygon(_cross(cx, cy, r, rot), fill=255)
    else:
        sides = {"triangle": 3, "square": 4, "pentagon": 5, "hexagon": 6}[shape]
        draw.polygon(_polygon(sides, cx, cy, r * (1.15 if sides == 3 else 1.0), rot), fill=255)
    return np.asarray(image, np.float32) / 255.0


def _background(name: str, size: int, rng: np.random.Generator) -> np.ndarray:
    xs, ys = _grid(size)
    if name == "plain":
        base = np.array([205, 200, 190], np.float32) + rng.uniform(-18, 18, 3)
        angle = rng.uniform(0, 2 * np.pi)
        ramp = ((xs * np.cos(angle) + ys * np.sin(angle)) / size)[..., None]
        return np.broadcast_to(base, (size, size, 3)) + (ramp - ramp.mean()) * rng.uniform(30, 70)
    if name == "grass":
        base = np.array([70, 135, 50], np.float32) + rng.uniform(-12, 12, 3)
        blades = rng.normal(0, 18, (1, size, 1)).astype(np.float32) + rng.normal(0, 10, (size, size, 1))
        return base + blades * np.array([0.6, 1.0, 0.5], np.float32)
    if name == "night":
        base = np.array([12, 16, 45], np.float32) + rng.uniform(-6, 6, 3)
        sky = np.broadcast_to(base, (size, size, 3)) * (0.7 + 0.6 * ys / size)[..., None]
        stars = rng.random((size, size)) < 0.012
        return np.where(stars[..., None], np.float32(235.0), sky)
    raise ValueError(f"unknown background {name!r}")


def _lighting(size: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth random brightness changes over the image (varies perceptual hashes like real photos do)."""
    coarse = Image.fromarray(rng.normal(0.0, 24.0, (3, 3)).astype(np.float32), "F")
    return np.asarray(coarse.resize((size, size), Image.Resampling.BICUBIC), np.float32)


def render(appearance: Appearance, index: int, seed: int, size: int = 64) -> Image.Image:
    """The ``index``-th image of a concept: deterministic for (seed, slug, index, size)."""
    rng = rng_for(seed, appearance.slug, index)
    primary = np.array(COLOURS[appearance.colour][1], np.float32) + rng.uniform(-12, 12, 3)
    secondary = _secondary(primary)
    background = _background(appearance.background, size, rng)
    mask = _mask(appearance.shape, size, rng)[..., None]
    pattern = _pattern(appearance.pattern, size, rng)[..., None]
    foreground = primary * (1.0 - pattern) + secondary * pattern
    pixels = background * (1.0 - mask) + foreground * mask
    pixels = pixels + _lighting(size, rng)[..., None] + rng.normal(0.0, 5.0, (size, size, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def render_jpeg(appearance: Appearance, index: int, seed: int, size: int = 64, quality: int = 90) -> bytes:
    """:func:`render` encoded as JPEG (the bytes the server sends and the target stores)."""
    buffer = io.BytesIO()
    render(appearance, index, seed, size).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
