"""The five search engines against replies in their APIs' documented shape (``tests/engines/replies/*.json``, each
naming its documents under ``_documented_at``), served from the loopback server: the request each engine sends has
the documented parameter names, and the Hits carry the URL, licence, creator, source page and size the reply holds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from ie.api import TokenBucket
from ie.outputs.licences import licence_key, licence_url
from ie_plugins.engines.flickr import FlickrEngine
from ie_plugins.engines.google import GoogleEngine
from ie_plugins.engines.laion import LaionEngine
from ie_plugins.engines.openverse import OpenverseEngine
from ie_plugins.engines.wikimedia import WikimediaEngine

REPLIES = Path(__file__).parent / "replies"
ENGINES = ("flickr", "openverse", "wikimedia", "google", "laion")
SECRETS = ("FLICKR_API_KEY", "FLICKR_API_SECRET", "OPENVERSE_CLIENT_ID", "OPENVERSE_CLIENT_SECRET", "GOOGLE_API_KEY",
           "GOOGLE_CSE_ID", "IE_LAION_URL", "IE_LAION_INDEX")
# https://github.com/WordPress/openverse/blob/main/api/api/constants/licenses.py: LICENSE_GROUPS["all"]
OPENVERSE_LICENSES = {"by", "by-sa", "by-nd", "by-nc", "by-nc-sa", "by-nc-nd", "cc0", "pdm", "sampling+",
                      "nc-sampling+"}
# https://github.com/rom1504/clip-retrieval/blob/main/clip_retrieval/clip_back.py: what KnnService.post reads
CLIP_BACK_KEYS = {"text", "image", "image_url", "embedding_input", "modality", "num_images", "num_result_ids",
                  "indice_name", "use_mclip", "deduplicate", "use_safety_model", "use_violence_detector",
                  "aesthetic_score", "aesthetic_weight"}


def recorded(name: str) -> tuple[Any, dict[str, Any]]:
    """The reply as the service sends it (``_documented_at`` stripped; a bare list sits under ``reply``) and its
    documentation record."""
    data = json.loads((REPLIES / f"{name}.json").read_text(encoding="utf-8"))
    documented = data.pop("_documented_at")
    return (data.pop("reply") if set(data) == {"reply"} else data), documented


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch):
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)


def unthrottled(engine: Any, clock: Any) -> Any:
    engine.rate_limiter = TokenBucket(100.0, 100.0, clock=clock, sleep=clock.sleep)
    return engine


@pytest.mark.parametrize("name", ENGINES)
def test_each_reply_names_its_documents(name):
    """Every recorded reply says where its shape comes from and when that was checked (see replies/README.md)."""
    reply, documented = recorded(name)
    assert reply and dt.date.fromisoformat(documented["checked"]) <= dt.date.today()
    assert documented["urls"] and all(url.startswith("https://") for url in documented["urls"])
    assert documented["notes"]


def test_flickr_photos_search(json_server, fake_clock):
    """``flickr.photos.search`` with ``extras``, answered in JSON without a callback.

    https://www.flickr.com/services/api/flickr.photos.search.html (arguments, extras, ``license`` filter),
    https://www.flickr.com/services/api/response.json.html (``format=json&nojsoncallback=1``),
    https://www.flickr.com/services/api/misc.urls.html (``url_l`` is the 1024 px "b" size),
    https://www.flickr.com/services/api/flickr.photos.licenses.getInfo.html (licence ids and their URLs).
    """
    reply, _ = recorded("flickr")
    server = json_server(lambda request: reply)
    engine = unthrottled(FlickrEngine({"base_url": server.url + "/services/rest/", "licenses": ["by", "cc0"],
                                       "secrets": {"FLICKR_API_KEY": "test-key"}}), fake_clock)
    with contextlib.closing(engine):
        hits = engine.search("red panda", 3)

    (request,) = server.requests
    params = request.params
    assert (request.method, request.path) == ("GET", "/services/rest/")
    assert (params["method"], params["api_key"], params["text"]) == ("flickr.photos.search", "test-key", "red panda")
    assert (params["format"], params["nojsoncallback"]) == ("json", "1")
    assert {"license", "owner_name", "url_l", "url_c", "url_z", "url_m", "url_q"} <= set(params["extras"].split(","))
    assert (params["per_page"], params["page"], params["sort"], params["media"]) == ("3", "1", "relevance", "photos")
    assert params["license"].split(",") == ["4", "11", "9"]  # CC BY 2.0, CC BY 4.0, CC0 1.0 (licenses.getInfo)

    # the third photo has none of the download sizes (only the squares): no hit for it
    assert [hit.extra["id"] for hit in hits] == ["53412345678", "53498765432"]
    large, small = hits
    assert large.url == "https://live.staticflickr.com/65535/53412345678_a1b2c3d4e5_b.jpg"
    assert (large.width, large.height, large.extra["size"]) == (1024, 768, "l")
    assert large.thumbnail_url == "https://live.staticflickr.com/65535/53412345678_a1b2c3d4e5_q.jpg"
    assert (large.license, large.extra["license_id"]) == ("CC BY 2.0", "4")
    assert licence_url(large.license) == "https://creativecommons.org/licenses/by/2.0/"  # getInfo's URL for id 4
    assert large.attribution == "Jane Doe" and large.title == "Red panda (Ailurus fulgens)"
    assert large.source_page == "https://www.flickr.com/photos/12345678@N05/53412345678/"
    # a 640 px upload has no url_l/url_c: the largest size it has, measured by its own width_z/height_z
    assert small.url == "https://live.staticflickr.com/65535/53498765432_0f9e8d7c6b_z.jpg"
    assert (small.width, small.height, small.extra["size"]) == (640, 480, "z")
    assert small.license == "CC0 1.0" and licence_key(small.license) == "cc0"
    assert licence_url(small.license) == "https://creativecommons.org/publicdomain/zero/1.0/"
    assert small.title is None and small.attribution == "Sam Roe"  # Flickr sends "" for an untitled photo


def test_openverse_images_search(json_server, fake_clock):
    """``GET /v1/images/`` anonymously, with the run's licence families as Openverse licence codes.

    https://api.openverse.org/v1/#tag/images (parameters ``q``, ``page``, ``page_size``, ``license``; result fields),
    https://github.com/WordPress/openverse/blob/main/api/api/serializers/media_serializers.py (the same, in code).
    """
    reply, _ = recorded("openverse")
    server = json_server(lambda request: reply)
    engine = unthrottled(OpenverseEngine({"base_url": server.url, "licenses": ["cc0", "pdm", "by", "by-sa", "arr"]}),
                         fake_clock)
    with contextlib.closing(engine):
        hits = engine.search("red panda", 20)

    (request,) = server.requests
    assert (request.method, request.path) == ("GET", "/v1/images/") and "authorization" not in request.headers
    params = request.params
    assert (params["q"], params["page"], params["page_size"]) == ("red panda", "1", "20")  # anonymous page_size <= 20
    codes = params["license"].split(",")
    assert codes == ["cc0", "pdm", "by", "by-sa"] and set(codes) <= OPENVERSE_LICENSES  # "arr" has no code

    results = reply["results"]
    photo, marked, specimen = hits
    assert [hit.url for hit in hits] == [r["url"] for r in results]
    assert [hit.source_page for hit in hits] == [r["foreign_landing_url"] for r in results]
    assert [hit.extra["license_url"] for hit in hits] == [r["license_url"] for r in results]
    # the creator, as every engine gives it (exports call it "creator"); the full attribution sentence is kept aside
    assert [hit.attribution for hit in hits] == [r["creator"] or r["attribution"] for r in results]
    assert [hit.extra.get("attribution") for hit in hits] == [r["attribution"] for r in results]
    assert [hit.thumbnail_url for hit in hits] == [r["thumbnail"] for r in results]

    assert photo.license == "CC BY-SA 2.0" and licence_url(photo.license) == results[0]["license_url"]
    assert photo.extra["creator"] == "Jane Doe"
    assert photo.extra["creator_url"] == "https://www.flickr.com/photos/12345678@N05"
    assert (photo.width, photo.height, photo.title, photo.extra["filetype"]) == (1024, 768, "Red panda", "jpg")
    # null title, creator, size and filetype: nothing made up for them
    assert marked.license == "PDM 1.0" and licence_key(marked.license) == "pdm"
    assert licence_url(marked.license) == results[1]["license_url"]
    assert marked.title is None and (marked.width, marked.height) == (None, None)
    assert not {"creator", "creator_url", "filetype"} & set(marked.extra)
    assert specimen.license == "CC BY-NC-ND 4.0" and licence_key(specimen.license) == "by-nc-nd"
    assert specimen.extra["creator"] == "Natural History Museum of Example" and "creator_url" not in specimen.extra
    assert (specimen.width, specimen.height) == (3000, 2000)


def test_wikimedia_generator_search_with_imageinfo(json_server, fake_clock):
    """``action=query&generator=search`` over the File namespace with ``prop=imageinfo`` and ``extmetadata``.

    https://www.mediawiki.org/wiki/API:Search (``gsrsearch``, ``gsrnamespace``, ``gsrlimit``, ``gsroffset``),
    https://www.mediawiki.org/wiki/API:Imageinfo (``iiprop``, ``iiurlwidth`` -> ``thumburl``/``thumbwidth``/
    ``thumbheight``, ``iiextmetadatafilter``), https://www.mediawiki.org/wiki/API:Continue,
    https://www.mediawiki.org/wiki/API:JSON_version_2,
    https://www.mediawiki.org/wiki/Extension:CommonsMetadata (LicenseShortName, LicenseUrl, Artist: HTML values).
    """
    reply, _ = recorded("wikimedia")
    server = json_server(lambda request: {"batchcomplete": True} if "gsroffset" in request.params else reply)
    engine = unthrottled(WikimediaEngine({"base_url": server.url + "/w/api.php", "contact": "ops@example.org"}),
                         fake_clock)
    with contextlib.closing(engine):
        hits = engine.search("red panda", 3)

    first, second = server.requests
    params = first.params
    assert (params["action"], params["generator"], params["gsrnamespace"], params["prop"]) == (
        "query", "search", "6", "imageinfo")
    assert (params["gsrsearch"], params["gsrlimit"]) == ("red panda filetype:bitmap", "3")
    assert {"url", "size", "mime", "extmetadata"} <= set(params["iiprop"].split("|")) and params["iiurlwidth"] == "500"
    assert {"LicenseShortName", "LicenseUrl", "Artist"} <= set(params["iiextmetadatafilter"].split("|"))
    assert (params["format"], params["formatversion"]) == ("json", "2")
    assert "ops@example.org" in first.headers["user-agent"]
    # the next page sends the reply's continue object back as it came
    assert (second.params["gsroffset"], second.params["continue"]) == ("3", "gsroffset||")

    pages = {page["title"]: page["imageinfo"][0] for page in reply["query"]["pages"] if "imageinfo" in page}
    plate, photo = hits  # in "index" order; the File page without a file gives no hit
    info = pages["File:Ailurus fulgens - Hardwicke.jpg"]
    assert plate.url == info["url"] == info["thumburl"]  # narrower than iiurlwidth: the original itself
    assert (plate.width, plate.height) == (400, 300) and plate.source_page == info["descriptionurl"]
    assert plate.license == "Public domain" and licence_key(plate.license) == "pdm" and "license_url" not in plate.extra
    assert plate.attribution == "Thomas Hardwicke"  # <bdi><a ...>Thomas Hardwicke</a></bdi>
    assert plate.title == "Ailurus fulgens (Hardwicke, 1821)"  # ObjectName

    info = pages["File:Red Panda (Ailurus fulgens) at Zoo Zürich.jpg"]
    assert photo.url == photo.thumbnail_url == info["thumburl"] and photo.extra["original_url"] == info["url"]
    assert (photo.width, photo.height) == (500, 375)  # the thumbnail downloaded, not the 4000 x 3000 original
    assert (photo.extra["original_width"], photo.extra["original_height"]) == (4000, 3000)
    assert photo.license == "CC BY-SA 4.0"
    assert photo.extra["license_url"] == "https://creativecommons.org/licenses/by-sa/4.0"  # LicenseUrl, as sent
    assert licence_url(photo.license).rstrip("/") == photo.extra["license_url"]
    assert photo.attribution == "Jane Doe"  # the Artist link's text, not Credit's "Own work"
    assert photo.source_page == info["descriptionurl"] and photo.title == "Red Panda (Ailurus fulgens) at Zoo Zürich"
    assert photo.extra["description"] == "A red panda resting on a branch & looking down"


def test_google_custom_search_images(json_server):
    """Custom Search JSON API ``cse.list`` with ``searchType=image`` (google-api-python-client over HTTP).

    https://developers.google.com/custom-search/v1/reference/rest/v1/cse/list (``q``, ``cx``, ``searchType``, ``num``
    1-10, ``start``, ``rights``; ``key``), https://developers.google.com/custom-search/v1/reference/rest/v1/Search
    (``items[].link``, ``items[].image.contextLink``/``width``/``height``/``thumbnailLink``).
    """
    reply, _ = recorded("google")
    server = json_server(lambda request: reply)
    engine = GoogleEngine({"base_url": server.url + "/", "today": "2026-06-01",
                           "rights": "cc_publicdomain|cc_attribute",
                           "secrets": {"GOOGLE_API_KEY": "test-key", "GOOGLE_CSE_ID": "test-cx"}})
    with contextlib.closing(engine):
        hits = engine.search("red panda", 3)

    (request,) = server.requests
    params = request.params
    assert (request.method, request.path) == ("GET", "/customsearch/v1")
    assert (params["q"], params["cx"], params["key"]) == ("red panda", "test-cx", "test-key")
    assert params["searchType"] == "image"
    assert 1 <= int(params["num"]) <= 10 and (params["num"], params["start"]) == ("3", "1")
    assert params["rights"] == "cc_publicdomain|cc_attribute" and params["alt"] == "json"

    items = reply["items"]
    assert [hit.url for hit in hits] == [item["link"] for item in items]
    assert [hit.source_page for hit in hits] == [item["image"]["contextLink"] for item in items]
    assert [(hit.width, hit.height) for hit in hits] == [(1024, 683), (4821, 3213), (1200, 800)]
    assert [hit.thumbnail_url for hit in hits] == [item["image"]["thumbnailLink"] for item in items]
    assert [hit.title for hit in hits] == [item["title"] for item in items]  # plain title, not htmlTitle
    assert hits[0].extra == {"mime": "image/jpeg", "displayLink": "www.example-zoo.org"}
    assert hits[1].extra == {"displayLink": "en.wikipedia.org"}  # no mime in this item
    assert all(hit.license is None and hit.attribution is None for hit in hits)  # the API carries neither


def test_laion_knn_service(json_server):
    """clip-retrieval's ``POST /knn-service`` with a text query.

    https://github.com/rom1504/clip-retrieval/blob/main/clip_retrieval/clip_back.py (``KnnService.post`` reads the
    body keys; ``map_to_metadata`` returns the index's columns plus ``id`` and ``similarity``, metadata only for the
    first ``num_images``), https://github.com/rom1504/clip-retrieval/blob/main/clip_retrieval/clip_client.py.
    """
    reply, _ = recorded("laion")
    server = json_server(lambda request: reply)
    engine = LaionEngine({"url": server.url + "/knn-service", "index": "laion5B-L-14"})
    with contextlib.closing(engine):
        hits = engine.search("red panda", 3)

    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/knn-service")
    body = request.json()
    assert set(body) == CLIP_BACK_KEYS  # a misspelt key would be ignored by clip_back without a word
    assert (body["text"], body["modality"], body["indice_name"], body["num_images"]) == (
        "red panda", "image", "laion5B-L-14", 3)
    assert body["num_result_ids"] >= body["num_images"] and (body["image"], body["image_url"]) == (None, None)
    assert body["aesthetic_score"] == "" and isinstance(body["aesthetic_weight"], float)  # "" means none to clip_back
    assert all(body[key] is True for key in ("deduplicate", "use_safety_model", "use_violence_detector"))
    assert body["use_mclip"] is False

    assert [hit.url for hit in hits] == [row["url"] for row in reply[:3]]  # the id-only tail never becomes a hit
    assert [hit.title for hit in hits] == ["Red panda sitting in a tree", None, "red panda plush toy 30 cm"]
    assert hits[0].extra == {"similarity": reply[0]["similarity"], "id": 1930472216}
    assert all((hit.license, hit.source_page, hit.width, hit.height) == (None, None, None, None) for hit in hits)
