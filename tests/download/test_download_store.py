"""The downloader with the run store: content-addressed files, every outcome recorded, re-runs skip done URLs;
and the `ie download` command."""

from __future__ import annotations

import hashlib
import time

from hostile_web import LoopbackServer, image_bytes, send

from ie.download import DedupeIndex, DownloadOptions, download_list, download_to_store
from ie.store import RunStore


def urls_for(server: LoopbackServer) -> list[str]:
    return [
        server.static("/s/a.jpg", image_bytes((640, 480), seed=21)),
        server.static("/s/b.png", image_bytes((500, 500), "PNG", seed=22), ctype="image/png"),
        server.static("/s/a-copy.jpg", image_bytes((640, 480), seed=21)),  # exact duplicate of a
        server.static("/s/a-q50.jpg", image_bytes((640, 480), seed=21, quality=50)),  # near duplicate of a
        server.static("/s/html", b"<html></html>", ctype="text/html"),
        server.url("/s/missing.jpg"),
        "http://169.254.169.254/latest/meta-data/",
        b"http://example.com/\xff".decode("utf-8", "surrogateescape"),
    ]


def test_store_integration(tmp_path, server: LoopbackServer, options: DownloadOptions) -> None:  # noqa: ANN001
    urls = urls_for(server)
    with RunStore.open(tmp_path / "run") as store:
        summary = download_to_store(urls + urls[:2], store, iteration=0, options=options, progress=False)
        assert summary.total == len(urls) and summary.ok == 2
        assert summary.counts["duplicate"] == 1 and summary.counts["near_duplicate"] == 1
        assert summary.counts["not_image"] == 1 and summary.reasons["http_404"] == 1
        assert summary.counts["blocked_private_address"] == 1 and summary.counts["invalid_url"] == 1
        assert store.outcome_counts() == dict(summary.counts)
        images = store.images()
        assert len(images) == 2
        for img in images:
            data = img.path.read_bytes()
            assert hashlib.sha256(data).hexdigest() == img.sha256 and img.path.stem == img.sha256
            assert img.path.parent.name == img.sha256[:2] and min(img.width, img.height) == 256
        assert {sha for _, sha in summary.kept} == {img.sha256 for img in images}
        hits_before = server.hits("/s/a.jpg")

    with RunStore.open(tmp_path / "run") as store:  # resume: nothing fetched twice, dedupe seeded from store
        again = download_to_store(urls + [server.static("/s/a-elsewhere.jpg", image_bytes((640, 480), seed=21))],
                                  store, iteration=1, options=options, progress=False)
        assert again.skipped == len(urls) and again.total == 1
        assert again.counts["duplicate"] == 1  # same bytes as a, known from the store
        assert server.hits("/s/a.jpg") == hits_before
        assert len(store.images()) == 2


def test_dedupe_verdicts_follow_input_order_not_network_timing(tmp_path, server: LoopbackServer,
                                                                options: DownloadOptions) -> None:
    """The first URL of two identical images is kept even when it arrives last (a resumed or repeated run keeps
    the same images)."""
    body = image_bytes((640, 480), seed=41)

    def slow(h) -> None:  # noqa: ANN001
        time.sleep(0.5)
        send(h, 200, body)

    urls = [server.add("/o/first-slow.jpg", slow), server.static("/o/copy-fast.jpg", body),
            server.static("/o/near-fast.jpg", image_bytes((640, 480), seed=41, quality=40))]
    results = download_list(urls, options, dedupe=DedupeIndex(options.phash_threshold, options.leak_threshold))
    assert [r.outcome.url for r in results] == urls  # input order
    assert [r.outcome.outcome.value for r in results] == ["ok", "duplicate", "near_duplicate"]


def test_leak_guard_counts(tmp_path, server: LoopbackServer, options: DownloadOptions) -> None:  # noqa: ANN001
    test_image = tmp_path / "target_test.jpg"
    test_image.write_bytes(image_bytes((600, 450), seed=31))
    url = server.static("/s/leak.jpg", image_bytes((600, 450), seed=31, quality=70))
    dedupe = DedupeIndex().add_leak_files([test_image])
    with RunStore.open(tmp_path / "run2") as store:
        summary = download_to_store([url], store, iteration=0, options=options, dedupe=dedupe, progress=False)
    assert summary.leaks == 1 and dedupe.leaks == 1 and summary.ok == 0


def test_cli_download(tmp_path, server: LoopbackServer) -> None:  # noqa: ANN001
    import typer
    from typer.testing import CliRunner

    from ie.cli.commands.download import register

    app = typer.Typer()
    register(app)

    @app.command("noop")
    def noop() -> None:  # a second command, so typer keeps `download` as a subcommand
        pass

    urls = tmp_path / "urls.txt"
    urls.write_text("# comment\n" + server.static("/cli/a.jpg", image_bytes(seed=41)) + "\n\n"
                    + "http://127.0.0.1:1/blocked.jpg\n")
    result = CliRunner().invoke(app, ["download", str(urls), "--run", str(tmp_path / "r"), "--allow-host",
                                      server.host, "--no-progress", "--resize", "128"])
    assert result.exit_code == 0, result.output
    with RunStore.open(tmp_path / "r") as store:
        assert store.outcome_counts() == {"ok": 1, "blocked_private_address": 1}
        [img] = store.images()
        assert min(img.width, img.height) == 128


def test_process_pool_executor(server: LoopbackServer, options: DownloadOptions) -> None:
    from ie.download import download_list

    urls = [server.static("/pp/a.jpg", image_bytes(seed=51)), server.static("/pp/bad.jpg", b"\xff\xd8\xff\x00junk")]
    results = {r.outcome.url: r for r in download_list(urls, options.replace(executor="process", workers=1))}
    assert results[urls[0]].outcome.ok and results[urls[0]].image is not None
    assert results[urls[1]].outcome.outcome.value == "decode_error"


def test_crashed_decoder_is_recorded(server: LoopbackServer, options: DownloadOptions) -> None:
    import asyncio
    from concurrent.futures import Executor, Future
    from concurrent.futures.process import BrokenProcessPool

    from ie.download import download_many

    class Crashing(Executor):
        def submit(self, fn, /, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            fut: Future = Future()
            fut.set_exception(BrokenProcessPool("worker died"))
            return fut

    async def run() -> list:
        url = server.static("/pp/crash.jpg", image_bytes(seed=52))
        return [r async for r in download_many([url], options, executor=Crashing())]

    [result] = asyncio.run(run())
    assert result.outcome.reason == "decoder_crashed" and result.image is None
