"""Dedupe / near-duplicate / leak index, and the SSRF guard's address classification."""

from __future__ import annotations

import asyncio
import random

import pytest
from hostile_web import image_bytes

from ie.api import Outcome
from ie.download import Blocked, DedupeIndex, HammingIndex, UrlGuard, classify_ip, process_image
from ie.download.validate import ImageOptions, Processed


@pytest.mark.parametrize("ip,why", [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("169.254.169.254", "link_local"), ("fe80::1", "link_local"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"), ("fc00::1", "private"),
    ("100.64.0.1", "private"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("240.0.0.1", "private"), ("192.0.2.1", "private"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "link_local"), ("64:ff9b::a00:1", "private"),
    ("2002:7f00:1::", "loopback"), ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),
])
def test_classify_blocked(ip: str, why: str) -> None:
    assert classify_ip(ip) is not None
    assert classify_ip(ip) == why or why == "private" and classify_ip(ip) in ("private", "reserved", "not_global")


@pytest.mark.parametrize("ip", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_classify_public(ip: str) -> None:
    assert classify_ip(ip) is None


def test_allowed_hosts_are_exact() -> None:
    guard = UrlGuard(allowed_hosts=["127.0.0.1:8080", "[::1]:9000", "intranet.test"])

    async def check(url: str) -> str:
        try:
            return (await guard.check(url)).ip
        except Blocked as exc:
            return exc.reason

    assert asyncio.run(check("http://127.0.0.1:8080/a")) == "127.0.0.1"
    assert asyncio.run(check("http://127.0.0.1:8081/a")) == "blocked_loopback"
    assert asyncio.run(check("http://[::1]:9000/a")) == "::1"
    assert asyncio.run(check("http://[::1]:9001/a")) == "blocked_loopback"
    assert asyncio.run(check("https://169.254.169.254/")) == "blocked_link_local"
    assert asyncio.run(check("gopher://127.0.0.1:8080/")) == "blocked_scheme_gopher"
    assert asyncio.run(check("http://user:pw@127.0.0.1:8080/")) == "invalid_url_userinfo"


def test_hamming_index_matches_brute_force() -> None:
    rng = random.Random(0)
    hashes = [rng.getrandbits(64) for _ in range(3000)]
    index = HammingIndex(6)
    for h in hashes:
        index.add(h)
    for _ in range(300):
        q = rng.choice(hashes) ^ sum(1 << b for b in rng.sample(range(64), rng.randint(0, 9)))
        brute = min((q ^ h).bit_count() for h in hashes)
        assert index.nearest(q) == (brute if brute <= 6 else None)


def test_hamming_index_compares_a_query_with_few_entries_at_100k() -> None:
    """Speed without a clock: the work of a query is the number of entries it is compared with (one popcount
    each). Multi-index hashing compares a random query with a few hundred of 100,000 entries; brute force (or a
    broken chunking that puts everything in one bucket) compares it with all of them."""
    rng = random.Random(1)
    index = HammingIndex(4)
    for _ in range(100_000):
        index.add(rng.getrandbits(64))
    queries = [rng.getrandbits(64) for _ in range(500)]
    compared = [sum(len(table.get((q >> shift) & mask, ())) for table, (shift, mask) in
                    zip(index._tables, index._chunks, strict=True)) for q in queries]
    assert sum(compared) / len(compared) < 1_000  # 5 chunks of ~13 bits: ~5 x 100k / 8192 = ~61 expected


def processed(seed: int, size: tuple[int, int] = (400, 300), **kw: object) -> Processed:
    result = process_image(image_bytes(size, seed=seed, **kw), ImageOptions())
    assert isinstance(result, Processed)
    return result


def test_exact_near_and_leak() -> None:
    a, b = processed(1), processed(2)
    a_requality = processed(1, quality=60)  # same picture, other bytes
    a_bigger = processed(1, (800, 600))
    leak = processed(3)
    index = DedupeIndex(phash_threshold=6).add_leak_hashes([(leak.raw_sha256, leak.phash, leak.signature)])
    verdict = lambda p: index.check_and_add(p.sha256, p.raw_sha256, p.phash, p.signature)[0]  # noqa: E731
    assert verdict(a) is Outcome.OK
    assert verdict(b) is Outcome.OK
    assert verdict(a) is Outcome.DUPLICATE
    assert verdict(a_requality) is Outcome.NEAR_DUPLICATE
    assert verdict(a_bigger) in (Outcome.NEAR_DUPLICATE, Outcome.DUPLICATE)
    assert verdict(leak) is Outcome.LEAK
    assert verdict(processed(3, quality=50)) is Outcome.LEAK  # a re-encoded test image: still a leak
    assert index.leaks == 2
    assert len(index) == 4  # a and b, each with raw and re-encoded sha


def test_seed_from_store_hashes() -> None:
    a = processed(1)
    index = DedupeIndex().seed_from_store([(a.sha256, a.phash, a.signature)])
    assert index.check_and_add(a.sha256, "other-raw", a.phash)[0] is Outcome.DUPLICATE
    assert index.check_and_add("x", "y", a.phash, a.signature)[0] is Outcome.NEAR_DUPLICATE


def test_leak_files(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "test.jpg"
    path.write_bytes(image_bytes((500, 400), seed=5))
    index = DedupeIndex().add_leak_files([path])
    assert index.n_leak_images == 1
    p = processed(5, (500, 400))
    assert index.check_and_add(p.sha256, p.raw_sha256, p.phash) == (Outcome.LEAK, "leak_exact")
