"""Stage 3, download: every new URL of the iteration's hits fetched once, validated, deduplicated,
leak-guarded against the target's test images; each outcome recorded with its reason."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from ie.api import JobFailedError
from ie.loop.context import RunContext


def host_port(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


class DownloadStage:
    name: ClassVar[str] = "download"
    changes_brain: ClassVar[bool] = False

    def run(self, ctx: RunContext, iteration: int) -> dict[str, Any]:
        from ie.download import DedupeIndex, DownloadOptions, download_to_store

        cfg, store = ctx.config, ctx.store
        hits = store.iteration_hit_urls(iteration)
        done = store.downloaded_urls()
        urls = list(dict.fromkeys(url for url, _ in hits if url not in done))
        # engines that serve from this machine (simweb, local) may be fetched on loopback, nothing else may
        private_engines = {name for name, e in ctx.session.engines.items() if e.serves_private_urls}
        for name in sorted(private_engines & {engine for _, engine in hits}):
            ctx.session.engines[name].serve()  # hits found by an earlier process (ie resume) answer again
        allowed = {host_port(url) for url, engine in hits if engine in private_engines}
        options = DownloadOptions(resize_shorter=cfg.resize or None, allowed_hosts=frozenset(allowed),
                                  allow_private_hosts=cfg.allow_private_hosts,
                                  **cfg.plugin_options("download", "options"))
        # the kept images are indexed by download_to_store (once per store); here only the target's leak index
        dedupe = DedupeIndex(phash_threshold=options.phash_threshold, leak_threshold=options.leak_threshold)
        dedupe.add_leak_files([str(x.path) for x in ctx.target.test + ctx.target.val])
        summary = download_to_store(urls, store, iteration=iteration, options=options, dedupe=dedupe,
                                    progress=ctx.progress, executor=ctx.session.executor)
        failure = summary.nothing_obtained()
        if failure and not store.image_count():
            # the run has not one image from the web: stop as a failed job (the stage is redone on resume)
            raise JobFailedError(f"iteration {iteration}: {failure}")
        counts = {f"outcome_{k}": v for k, v in summary.counts.items()}
        ctx.session.emit("download_finished", iteration, urls=len(urls), kept=summary.ok,
                         transient=summary.transient, **counts)
        return {"urls": len(urls), **counts}
