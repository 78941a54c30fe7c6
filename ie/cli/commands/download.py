"""`ie download URLS_FILE --run runs/NAME`: fetch a URL list into a run store and print the outcome table."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    app.command("download")(download)


def read_urls(path: Path) -> list[str]:
    """One URL per line; blank lines and ``#`` comments skipped; undecodable bytes kept (they fail as invalid_url)."""
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def download(
    urls_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Text file, one URL per line."),
    run: Path = typer.Option(..., "--run", help="Run directory (created if missing), e.g. runs/NAME."),
    iteration: Optional[int] = typer.Option(None, "--iteration", help="Iteration to record the downloads under."),
    resize: int = typer.Option(256, "--resize", help="Resize the shorter side to this; 0 keeps the size."),
    quality: int = typer.Option(90, "--quality", help="JPEG quality of the re-encoded images."),
    concurrency: int = typer.Option(64, "--concurrency", help="Requests in flight, all hosts."),
    per_host: int = typer.Option(16, "--per-host", help="Requests in flight per host:port."),
    timeout: float = typer.Option(25.0, "--timeout", help="Total seconds per URL: connect, first byte, body, "
                                  "retries and redirects together."),
    retries: int = typer.Option(2, "--retries", help="Retries within this run after connection errors, 429 and 5xx."),
    max_attempts: int = typer.Option(3, "--max-attempts", help="Runs that may try a transiently failed URL, in all "
                                     "(counted in the run store; a re-run retries the rest)."),
    retry_backoff: float = typer.Option(30.0, "--retry-backoff", help="Seconds before a re-run retries a "
                                        "transient failure (doubling with each attempt)."),
    max_bytes: int = typer.Option(20_000_000, "--max-bytes", help="Largest response body accepted."),
    min_size: int = typer.Option(32, "--min-size", help="Smallest shorter side accepted (source pixels)."),
    max_aspect: float = typer.Option(4.0, "--max-aspect", help="Largest aspect ratio accepted."),
    phash_threshold: int = typer.Option(4, "--phash-threshold", help="Near-duplicate Hamming radius; -1 = off."),
    allow_private_hosts: bool = typer.Option(False, "--allow-private-hosts",
                                             help="Turn the SSRF guard's address check off (schemes stay checked)."),
    allow_host: Optional[list[str]] = typer.Option(None, "--allow-host",
                                                   help="Allow one HOST:PORT (or HOST) despite the guard; repeatable."),
    respect_noai: bool = typer.Option(True, "--respect-noai/--ignore-noai", help="Honour X-Robots-Tag noai."),
    leak_dir: Optional[Path] = typer.Option(None, "--leak-dir", exists=True, file_okay=False,
                                            help="Folder of the target's test/val images: near-copies are refused."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar."),
) -> None:
    """Download images from URLS_FILE into the run store, validated, re-encoded and de-duplicated."""
    from ie.download import DedupeIndex, DownloadOptions, download_to_store
    from ie.store import RunStore

    options = DownloadOptions(
        resize_shorter=resize or None, jpeg_quality=quality, concurrency=concurrency, per_host=per_host,
        total_timeout=timeout, retries=retries, max_attempts=max_attempts, retry_backoff=retry_backoff,
        max_bytes=max_bytes, min_size=min_size, max_aspect=max_aspect,
        phash_threshold=phash_threshold, allow_private_hosts=allow_private_hosts,
        allowed_hosts=frozenset(allow_host or ()), respect_noai=respect_noai,
    )
    dedupe = DedupeIndex(options.phash_threshold, options.leak_threshold)
    if leak_dir is not None:
        exts = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".avif"}
        dedupe.add_leak_files(p for p in sorted(leak_dir.rglob("*")) if p.suffix.lower() in exts)
    urls = read_urls(urls_file)
    with RunStore.open(run) as store:
        summary = download_to_store(urls, store, iteration=iteration, options=options, dedupe=dedupe,
                                    progress=progress)
    if not progress:
        from ie.download import print_summary

        print_summary(summary)
    failure = None if summary.skipped else summary.nothing_obtained()
    if failure:  # nothing could be obtained: a failed job (exit 1); the table above has every reason
        typer.echo(f"error: {failure}", err=True)
        raise typer.Exit(1)
