"""The loopback server serves images and the designed failures."""

from __future__ import annotations

import io

import httpx
from PIL import Image

from ie_plugins.simweb.render import appearance_from_slug, render_jpeg
from ie_plugins.simweb.server import get_server, url_for


def test_serves_images_and_broken_urls() -> None:
    server = get_server()
    assert server.base_url.startswith("http://127.0.0.1:")
    with httpx.Client(timeout=10) as client:
        response = client.get(url_for("blue-striped-star", 3))
        assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
        assert response.content == render_jpeg(appearance_from_slug("blue-striped-star"), 3, seed=0)
        Image.open(io.BytesIO(response.content)).load()

        other_world = client.get(url_for("blue-striped-star", 3, seed=1, image_size=80))
        assert Image.open(io.BytesIO(other_world.content)).size == (80, 80)
        assert other_world.content != response.content

        assert client.get(server.broken_url("404", "red-solid-circle", 1)).status_code == 404
        assert client.get(server.broken_url("500", "red-solid-circle", 1)).status_code == 500
        html = client.get(server.broken_url("html", "red-solid-circle", 1))
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")

        truncated = client.get(server.broken_url("truncated", "blue-striped-star", 3))
        assert truncated.status_code == 200 and truncated.headers["content-type"] == "image/jpeg"
        assert response.content.startswith(truncated.content) and len(truncated.content) < len(response.content)
        try:
            Image.open(io.BytesIO(truncated.content)).load()
            decoded = True
        except OSError:
            decoded = False
        assert not decoded

        assert client.get(server.page_for("blue-striped-star", 3)).status_code == 200
        assert client.get(url_for("no-such-concept", 1)).status_code == 404
        assert client.get(server.base_url + "/elsewhere").status_code == 404


def test_one_server_per_process() -> None:
    assert get_server() is get_server()
