"""The hardened, async image downloader the loop uses (``download_to_store``) and its store-free core
(``download_many`` / ``download_list``). See ``DownloadOptions`` for every knob."""

from ie.download.dedupe import DedupeIndex, HammingIndex
from ie.download.guard import Blocked, UrlGuard, classify_ip
from ie.download.options import DownloadOptions
from ie.download.pipeline import (
    DownloadResult,
    DownloadSummary,
    download_list,
    download_many,
    make_executor,
)
from ie.download.to_store import download_to_store, print_summary
from ie.download.validate import ImageOptions, Processed, Rejected, process_image, sniff

__all__ = [
    "Blocked", "DedupeIndex", "DownloadOptions", "DownloadResult", "DownloadSummary", "HammingIndex",
    "ImageOptions", "Processed", "Rejected", "UrlGuard", "classify_ip", "download_list", "download_many",
    "download_to_store", "make_executor", "print_summary", "process_image", "sniff",
]
