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


def test_borrowed_port_is_taken_over_when_its_holder_exits() -> None:
    """Two runs share one simweb port; when the run holding it ends, the other keeps its URLs alive."""
    import socket
    import subprocess
    import sys
    import time

    from ie_plugins.simweb.server import SimWebServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from ie_plugins.simweb.server import SimWebServer; "
         f"SimWebServer({port}); print('up', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    borrower = None
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "up"
        borrower = SimWebServer(port)
        assert borrower.borrowed and borrower.port == port
        url = borrower.url_for("blue-striped-star", 3)
        assert httpx.get(url, timeout=10).status_code == 200
        holder.kill()
        holder.wait()
        deadline = time.monotonic() + 20
        while borrower.borrowed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not borrower.borrowed
        assert httpx.get(url, timeout=10).status_code == 200
    finally:
        holder.kill()
        if borrower is not None:
            borrower.close()
