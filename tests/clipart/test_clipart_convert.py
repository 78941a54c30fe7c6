"""PNG -> JPEG conversion of the clipart store on synthetic PNGs (fast, needs no package data)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from ie_plugins.clipart.convert import convert_all, to_jpeg

RED = (255, 0, 0)


def _transparent_with_red_square(mode: str, size: tuple[int, int] = (600, 300)) -> Image.Image:
    image = Image.new("RGBA", size, (0, 0, 0, 0))  # transparent *black*: must come out white
    image.paste((*RED, 255), (size[0] // 3, size[1] // 3, 2 * size[0] // 3, 2 * size[1] // 3))
    if mode == "P":
        return image.convert("P", palette=Image.Palette.ADAPTIVE, colors=8)  # alpha kept as tRNS
    return image if mode == "RGBA" else image.convert(mode)


def _near(pixel: tuple[int, ...], colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 8 for a, b in zip(pixel, colour))


def test_every_mode_becomes_an_rgb_jpeg_on_white(tmp_path: Path) -> None:
    sources = {mode: _transparent_with_red_square(mode) for mode in ("RGBA", "P", "LA")}
    sources["L"] = Image.new("L", (100, 400), 90)
    sources["RGB"] = Image.new("RGB", (1200, 200), RED)
    sources["I;16"] = Image.new("I;16", (300, 300), 40000)
    for mode, image in sources.items():
        png, jpg = tmp_path / f"{mode.replace(';', '')}.png", tmp_path / f"{mode.replace(';', '')}.jpg"
        image.save(png)
        assert to_jpeg(str(png), str(jpg)) is None, mode
        with Image.open(jpg) as out:
            assert out.format == "JPEG" and out.mode == "RGB" and max(out.size) == 256, mode
            if mode in ("RGBA", "P", "LA"):
                assert out.size == (256, 128)
                assert _near(out.getpixel((2, 2)), (255, 255, 255)), mode
                centre = out.getpixel((128, 64))
                assert _near(centre, RED if mode != "LA" else (76, 76, 76)), (mode, centre)
    with Image.open(tmp_path / "L.jpg") as out:
        assert out.size == (64, 256)


def test_broken_and_oversized_pngs_are_reported_not_written(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert to_jpeg(str(tmp_path / "broken.png"), str(tmp_path / "broken.jpg")) is not None
    Image.new("RGB", (100, 100)).save(tmp_path / "big.png")
    assert to_jpeg(str(tmp_path / "big.png"), str(tmp_path / "big.jpg"), max_pixels=5000) == \
        "too large: 100x100 pixels"
    assert not list(tmp_path.glob("*.jpg"))


def test_convert_all_in_a_pool_skips_failures_and_groups_identical_pictures(tmp_path: Path) -> None:
    root, store = tmp_path / "png", tmp_path / "store"
    (root / "a").mkdir(parents=True)
    reals = []
    for i in range(70):  # enough for the process pool
        Image.new("RGB", (40 + i, 30), (3 * i, 0, 0)).save(root / "a" / f"{i:02d}.png")
        reals.append(f"a/{i:02d}.png")
    Image.new("RGB", (40, 30), (0, 0, 0)).save(root / "copy.png", compress_level=1)  # other bytes, same picture
    (root / "bad.png").write_bytes(b"nope")
    reals += ["copy.png", "bad.png"]
    skipped, same = convert_all(root, reals, store, "stamp", 1, workers=2)
    assert list(skipped) == ["bad.png"] and same == {"copy.png": "a/00.png"}
    assert len(list(store.rglob("*.jpg"))) == 71
    before = (store / "a/05.jpg").stat().st_mtime_ns
    assert convert_all(root, reals, store, "stamp", 1) == (skipped, same)  # from index.json
    assert (store / "a/05.jpg").stat().st_mtime_ns == before
