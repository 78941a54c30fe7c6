"""Engines ask for the smallest image that serves the run's ``resize`` (the shorter side images are resized to):
Flickr's size whose shorter side is at least that (https://www.flickr.com/services/api/misc.urls.html), Wikimedia's
standard thumbnail step (https://www.mediawiki.org/wiki/Common_thumbnail_sizes)."""

from __future__ import annotations

import pytest

from ie_plugins.engines.flickr import FlickrEngine
from ie_plugins.engines.wikimedia import WikimediaEngine

PHOTO = {"id": "1", "owner": "1@N00", "license": "4", "ownername": "A", "title": "t",
         "url_m": "https://live.staticflickr.com/1/1_m.jpg", "width_m": 500, "height_m": 375,
         "url_z": "https://live.staticflickr.com/1/1_z.jpg", "width_z": "640", "height_z": "480",
         "url_l": "https://live.staticflickr.com/1/1_b.jpg", "width_l": 1024, "height_l": 768,
         "url_o": "https://live.staticflickr.com/1/1_o.jpg", "width_o": 4000, "height_o": 3000}


def _flickr(**options) -> FlickrEngine:
    return FlickrEngine({"secrets": {"FLICKR_API_KEY": "k"}, **options})


@pytest.mark.parametrize(("resize", "suffix"), [(None, "l"), (256, "m"), (375, "m"), (400, "z"), (700, "l"),
                                                (2000, "o")])
def test_flickr_picks_the_smallest_size_that_serves_resize(resize, suffix):
    engine = _flickr(**({"resize": resize} if resize else {}))
    hit = engine._hit(dict(PHOTO), "q", 0)
    assert hit is not None and hit.url.endswith(f"_{'b' if suffix == 'l' else suffix}.jpg")
    assert hit.extra["size"] == suffix
    assert "url_m" in engine.params("q", 1, 10)["extras"]  # the sizes it may pick are asked for


def test_flickr_without_sizes_in_a_photo_never_falls_back_to_the_original():
    photo = {k: v for k, v in PHOTO.items() if not k.startswith(("width", "height"))}
    hit = _flickr(resize=256)._hit(photo, "q", 0)
    assert hit is not None and hit.extra["size"] == "l"  # the largest size short of the original


@pytest.mark.parametrize(("resize", "width"), [(None, 500), (128, 250), (256, 500), (512, 960), (1000, 1920)])
def test_wikimedia_asks_for_the_thumbnail_step_that_serves_resize(resize, width):
    options = {"contact": "ops@example.org", **({"resize": resize} if resize else {})}
    assert WikimediaEngine(options).thumb_width == width
    assert WikimediaEngine({**options, "thumb_width": 330}).thumb_width == 330  # the user's own choice wins
