"""The hostile-input suite: every case is served from loopback (or refused before any request), and each
asserts the recorded outcome and reason, that nothing bad is admitted, and that nothing crashes."""

from __future__ import annotations

import gzip
import io
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler

import pytest
from PIL import Image

from ie.api import Outcome
from ie.download import DownloadOptions, DownloadResult, download_list

from hostile_web import LoopbackServer, image_bytes, send, slow_drip

pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")


def fetch(url: str, options: DownloadOptions) -> DownloadResult:
    [result] = download_list([url], options)
    return result


def check_admitted(result: DownloadResult) -> Image.Image:
    """An admitted image is a small RGB JPEG whose bytes match the recorded sha256."""
    import hashlib

    assert result.outcome.outcome is Outcome.OK, result.outcome
    assert result.image is not None
    assert hashlib.sha256(result.image.data).hexdigest() == result.outcome.sha256
    im = Image.open(io.BytesIO(result.image.data))
    assert im.format == "JPEG" and im.mode == "RGB"
    assert min(im.size) <= 256
    im.load()
    return im


def check_refused(result: DownloadResult, outcome: Outcome, reason: str) -> None:
    assert result.outcome.outcome is outcome, result.outcome
    assert result.outcome.reason.startswith(reason), result.outcome
    assert result.image is None and result.outcome.sha256 is None


# --- bodies ---------------------------------------------------------------------------------------
def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@cache
def png_bomb() -> bytes:
    """12000 x 12000 grey PNG (144 Mpx) whose zero IDAT compresses to ~150 KB."""
    w = h = 12000
    comp = zlib.compressobj(9)
    row = b"\x00" * (w + 1)
    idat = b"".join(comp.compress(row) for _ in range(h)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def jpeg_header_only(w: int = 30000, h: int = 30000) -> bytes:
    """SOI + SOF0 declaring w x h, then nothing: a size claim with no data."""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, h, w, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + sof


def cmyk_jpeg() -> bytes:
    return image_bytes((300, 200), "JPEG", mode="CMYK")


def png16() -> bytes:
    import numpy as np

    arr = (np.linspace(0, 65535, 200 * 300).reshape(200, 300)).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")  # mode I;16
    return buf.getvalue()


def palette_png_transparent() -> bytes:
    im = Image.new("P", (200, 200), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.paste(1, (50, 50, 150, 150))  # red square on a transparent (index 0, black) background
    buf = io.BytesIO()
    im.save(buf, "PNG", transparency=0)
    return buf.getvalue()


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (120, 100), c) for c in ((0, 0, 255), (255, 0, 0), (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    return buf.getvalue()


def heic_like() -> bytes:
    """An ISO-BMFF 'ftyp heic' header and junk: what an iPhone photo looks like to a sniffer."""
    return struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic" + b"\x00" * 200


def rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    return image_bytes((400, 300), "JPEG", exif=exif.tobytes())


@cache
def gzip_bomb() -> bytes:
    return gzip.compress(b"\x00" * 50_000_000, 9)  # 50 MB of zeros in ~50 KB


def never_ending(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "image/jpeg")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    chunk = b"\xff\xd8\xff" + b"\x00" * 65533
    for _ in range(2000):  # 128 MB at most, so the server thread ends too
        h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))


def flaky(first_status: int, headers: dict[str, str] | None = None, failures: int = 1) -> Callable[..., None]:
    count = {"n": 0}
    good = image_bytes(seed=7)

    def handler(h: BaseHTTPRequestHandler) -> None:
        count["n"] += 1
        if count["n"] <= failures:
            send(h, first_status, b"busy", "text/plain", headers)
        else:
            send(h, 200, good)
    return handler


def redirect(location: str, status: int = 302) -> Callable[..., None]:
    return lambda h: send(h, status, b"", "text/plain", {"Location": location})


# --- the cases ------------------------------------------------------------------------------------
@dataclass
class Case:
    name: str
    setup: Callable[[LoopbackServer], str]  # registers routes, returns the URL to fetch
    outcome: Outcome
    reason: str = ""
    opts: dict[str, object] = field(default_factory=dict)
    check: Callable[[Image.Image], None] | None = None


def served(body: bytes | Callable[[], bytes], ctype: str = "image/jpeg", status: int = 200,
           headers: dict[str, str] | None = None) -> Callable[[LoopbackServer], str]:
    def setup(s: LoopbackServer) -> str:
        path = f"/case/{id(setup)}"
        return s.static(path, body() if callable(body) else body, status, ctype, headers)
    return setup


def routed(handler_factory: Callable[[LoopbackServer], Callable[..., None]]) -> Callable[[LoopbackServer], str]:
    def setup(s: LoopbackServer) -> str:
        return s.add(f"/case/{id(setup)}", handler_factory(s))
    return setup


def white_corner(im: Image.Image) -> None:
    assert im.getpixel((2, 2)) >= (245, 245, 245)  # transparency composited on white
    assert im.getpixel((im.width // 2, im.height // 2))[0] > 200  # the red square


CASES = [
    Case("truncated_jpeg", served(lambda: image_bytes((600, 400))[:3000]), Outcome.DECODE_ERROR, "decode_error"),
    Case("zero_bytes", served(b""), Outcome.NOT_IMAGE, "empty_body"),
    Case("html_as_jpeg", served(b"<!doctype html><html><body>hi</body></html>"), Outcome.NOT_IMAGE, "not_image"),
    Case("svg", served(b'<svg xmlns="http://www.w3.org/2000/svg" width="500" height="500"/>', "image/svg+xml"),
         Outcome.NOT_IMAGE, "not_image"),
    Case("png_decompression_bomb", served(png_bomb, "image/png"), Outcome.DECOMPRESSION_BOMB),
    Case("jpeg_30000x30000_header_only", served(jpeg_header_only), Outcome.DECOMPRESSION_BOMB),
    Case("one_by_one", served(lambda: image_bytes((1, 1), "PNG"), "image/png"), Outcome.TOO_SMALL, "too_small"),
    Case("bad_aspect", served(lambda: image_bytes((2000, 100))), Outcome.BAD_ASPECT, "bad_aspect"),
    Case("cmyk_jpeg", served(cmyk_jpeg), Outcome.OK),
    Case("png_16bit", served(png16, "image/png"), Outcome.OK,
         check=lambda im: (im.getpixel((0, 0))[0] < 30 and im.getpixel((im.width - 1, im.height - 1))[0] > 220)
         or pytest.fail("16-bit range not scaled")),
    Case("palette_png_transparency", served(palette_png_transparent, "image/png"), Outcome.OK, check=white_corner),
    Case("animated_gif_first_frame", served(animated_gif, "image/gif"), Outcome.OK,
         check=lambda im: im.getpixel((60, 50))[2] > 200 or pytest.fail("not the first (blue) frame")),
    Case("webp", served(lambda: image_bytes((300, 300), "WEBP"), "image/webp"), Outcome.OK),
    Case("avif", served(lambda: image_bytes((300, 300), "AVIF"), "image/avif"), Outcome.OK),
    Case("heic_unsupported", served(heic_like, "image/heic"), Outcome.DECODE_ERROR, "unsupported_format_heic"),
    Case("exif_rotated", served(rotated_jpeg), Outcome.OK,
         check=lambda im: im.height > im.width or pytest.fail("EXIF orientation not applied")),
    Case("png_bad_crc", served(lambda: image_bytes((100, 100), "PNG")[:-20] + b"\x00" * 20, "image/png"),
         Outcome.DECODE_ERROR, "decode_error"),
    Case("gzip_bomb_body", served(gzip_bomb, headers={"Content-Encoding": "gzip"}), Outcome.TOO_LARGE, "too_large"),
    Case("slow_drip", routed(lambda s: slow_drip(4.0)), Outcome.TIMEOUT, "timeout"),
    Case("never_ending_body", routed(lambda s: never_ending), Outcome.TOO_LARGE, "too_large"),
    Case("content_length_too_large", served(b"\xff\xd8\xff" + b"\x00" * 2_100_000), Outcome.TOO_LARGE,
         "too_large_content_length"),
    Case("http_404", served(b"no", "text/plain", 404), Outcome.HTTP_ERROR, "http_404"),
    Case("http_410", served(b"gone", "text/plain", 410), Outcome.HTTP_ERROR, "http_410"),
    Case("http_500_then_200", routed(lambda s: flaky(500)), Outcome.OK),
    Case("http_503_always", routed(lambda s: flaky(503, failures=99)), Outcome.HTTP_ERROR, "http_503"),
    Case("http_429_retry_after_too_long", routed(lambda s: flaky(429, {"Retry-After": "3600"})),
         Outcome.HTTP_ERROR, "http_429"),
    Case("robots_noai", served(lambda: image_bytes(seed=3), headers={"X-Robots-Tag": "noindex, noai"}),
         Outcome.ROBOTS_NOAI, "robots_noai"),
    Case("robots_noimageai_for_us", served(lambda: image_bytes(seed=3),
                                           headers={"X-Robots-Tag": "internet-explorer: noimageai"}),
         Outcome.ROBOTS_NOAI, "robots_noai"),
    Case("robots_other_bot_only", served(lambda: image_bytes(seed=4), headers={"X-Robots-Tag": "otherbot: noai"}),
         Outcome.OK),
    Case("robots_noai_switched_off", served(lambda: image_bytes(seed=5), headers={"X-Robots-Tag": "noai"}),
         Outcome.OK, opts={"respect_noai": False}),
    Case("redirect_loop", lambda s: (s.add("/loop-b", redirect("/loop-a")), s.add("/loop-a", redirect("/loop-b")))[1],
         Outcome.TOO_MANY_REDIRECTS, "redirect_loop"),
    Case("redirect_to_loopback_other_port", routed(lambda s: redirect(f"http://127.0.0.1:{s.port + 1}/x.jpg")),
         Outcome.BLOCKED_PRIVATE_ADDRESS, "blocked_loopback"),
    Case("redirect_to_metadata", routed(lambda s: redirect("http://169.254.169.254/latest/meta-data/")),
         Outcome.BLOCKED_PRIVATE_ADDRESS, "blocked_link_local"),
    Case("redirect_to_file", routed(lambda s: redirect("file:///etc/passwd")), Outcome.BLOCKED_SCHEME),
    Case("redirect_to_private_10", routed(lambda s: redirect("http://10.0.0.1/a.jpg")),
         Outcome.BLOCKED_PRIVATE_ADDRESS, "blocked_private"),
    Case("redirect_ok_same_host", routed(lambda s: redirect(s.static("/target.jpg", image_bytes(seed=9)), 301)),
         Outcome.OK),
    Case("file_url", lambda s: "file:///etc/passwd", Outcome.BLOCKED_SCHEME, "blocked_scheme_file"),
    Case("ftp_url", lambda s: "ftp://127.0.0.1/pub/a.jpg", Outcome.BLOCKED_SCHEME, "blocked_scheme_ftp"),
    Case("data_url", lambda s: "data:image/png;base64,iVBORw0KGgo=", Outcome.BLOCKED_SCHEME),
    Case("invalid_utf8_url", lambda s: b"http://example.com/\xff\xfe.jpg".decode("utf-8", "surrogateescape"),
         Outcome.INVALID_URL, "invalid_url_encoding"),
    Case("url_with_spaces_and_newline", lambda s: "http://exa mple.com/\na.jpg", Outcome.INVALID_URL),
    Case("url_without_host", lambda s: "http:///a.jpg", Outcome.INVALID_URL),
    Case("ipv6_loopback_literal", lambda s: f"http://[::1]:{s.port}/a.jpg", Outcome.BLOCKED_PRIVATE_ADDRESS,
         "blocked_loopback"),
    Case("ipv4_mapped_ipv6_loopback", lambda s: f"http://[::ffff:127.0.0.1]:{s.port}/a.jpg",
         Outcome.BLOCKED_PRIVATE_ADDRESS, "blocked_loopback"),
    Case("metadata_direct", lambda s: "http://169.254.169.254/latest/meta-data/", Outcome.BLOCKED_PRIVATE_ADDRESS),
    Case("decimal_ip_loopback", lambda s: f"http://2130706433:{s.port}/a.jpg", Outcome.BLOCKED_PRIVATE_ADDRESS,
         "blocked_loopback", opts={"allowed_hosts": frozenset()}),
    Case("dns_failure_invalid_tld", lambda s: "http://no-such-host.invalid/a.jpg", Outcome.DNS_ERROR, "dns_error"),
    Case("connection_refused_allowed_port", lambda s: f"http://127.0.0.1:{s.port + 2}/a.jpg",
         Outcome.CONNECTION_ERROR, "connection",
         opts={"allowed_hosts": frozenset({"127.0.0.1"})}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile(case: Case, server: LoopbackServer, options: DownloadOptions) -> None:
    url = case.setup(server)
    opts = options.replace(**case.opts) if case.opts else options
    result = fetch(url, opts)
    if case.outcome is Outcome.OK:
        im = check_admitted(result)
        if case.check:
            case.check(im)
    else:
        check_refused(result, case.outcome, case.reason)


def test_case_count() -> None:
    assert len(CASES) >= 25


def test_retry_after_is_honoured(server: LoopbackServer, options: DownloadOptions) -> None:
    url = server.add("/retry-after", flaky(429, {"Retry-After": "1"}))
    start = time.monotonic()
    result = fetch(url, options)
    check_admitted(result)
    assert time.monotonic() - start >= 0.9
    assert server.hits("/retry-after") == 2


def test_retries_are_bounded(server: LoopbackServer, options: DownloadOptions) -> None:
    url = server.add("/always-500", flaky(500, failures=99))
    check_refused(fetch(url, options), Outcome.HTTP_ERROR, "http_500")
    assert server.hits("/always-500") == 1 + options.retries


def test_redirect_cap(server: LoopbackServer, options: DownloadOptions) -> None:
    for i in range(10):
        server.add(f"/hop{i}", redirect(f"/hop{i + 1}"))
    server.static("/hop10", image_bytes(seed=11))
    check_refused(fetch(server.url("/hop0"), options.replace(max_redirects=5)), Outcome.TOO_MANY_REDIRECTS,
                  "too_many_redirects")
    check_admitted(fetch(server.url("/hop0"), options.replace(max_redirects=10)))


def test_guard_off_with_allow_private_hosts(server: LoopbackServer, options: DownloadOptions) -> None:
    url = server.static("/private-ok.jpg", image_bytes(seed=12)).replace("127.0.0.1", "localhost")
    opts = options.replace(allowed_hosts=frozenset(), allow_private_hosts=True)
    check_admitted(fetch(url, opts))
    # ... but schemes stay checked
    check_refused(fetch("file:///etc/passwd", opts), Outcome.BLOCKED_SCHEME, "blocked_scheme")


def test_batch_of_everything_never_crashes(server: LoopbackServer, options: DownloadOptions) -> None:
    urls = [c.setup(server) for c in CASES if c.name not in ("slow_drip", "http_429_retry_after_too_long")
            and not c.opts]
    results = download_list(urls, options.replace(executor="process"))  # the default pool, on every case
    assert len(results) == len(set(urls))
    assert all(r.image is None or r.outcome.ok for r in results)


def test_a_host_that_asks_for_fewer_connections_gets_no_more(server: LoopbackServer, options: DownloadOptions,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Per-host limits follow the host's policy (upload.wikimedia.org allows 2 at once): 12 slow images of one
    limited host are never fetched more than 2 at a time, while per_host alone would allow 8."""
    import threading

    from ie.download.options import DEFAULT_HOST_LIMITS, default_user_agent

    assert ("upload.wikimedia.org", 2) in DEFAULT_HOST_LIMITS
    lock, active, peak = threading.Lock(), [0], [0]
    body = image_bytes((64, 64))

    def slow(h: BaseHTTPRequestHandler) -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.15)
        with lock:
            active[0] -= 1
        send(h, 200, body)

    urls = [server.add(f"/limited/{i}.jpg", slow) for i in range(12)]
    limited = options.replace(host_limits=(("127.0.0.1", 2),), total_timeout=10, read_timeout=5)
    results = list(download_list(urls, limited))
    assert sum(r.outcome.ok for r in results) == 12 and peak[0] == 2
    monkeypatch.setenv("IE_CONTACT", "ops@example.org")  # image hosts get the operator's contact too
    assert "contact: ops@example.org" in default_user_agent()
