"""The paper's image reward: mean cosine similarity to the k nearest target features, computed in chunks.

Hand-written on torch (matmul + topk per chunk of candidates) because that is the whole algorithm and it
bounds memory at ``chunk_size x n_targets`` floats; FAISS (``IndexFlatIP``) is used instead when asked
for and installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import torch


def topk_mean_similarity(queries: torch.Tensor, keys: torch.Tensor, k: int, chunk_size: int = 4096,
                         device: str = "cpu", exclude: Sequence[int] | None = None) -> np.ndarray:
    """For each row of ``queries``, the mean of its ``k`` largest dot products with ``keys`` (float64 array).

    Both inputs should be L2-normalised (then dot product = cosine similarity). ``exclude[i]`` (``-1``: none) is
    a key that row ``i`` must not be compared with: itself, when the queries are among the keys.
    """
    import numpy as np
    import torch

    if len(queries) == 0:
        return np.zeros(0, dtype=np.float64)
    if len(keys) == 0:
        raise ValueError("no target features to compare against")
    k = min(k, len(keys) - (1 if exclude is not None and any(e >= 0 for e in exclude) else 0))
    if k < 1:
        raise ValueError("no key to compare with once each row's own is excluded")
    keys_t = keys.to(device=device, dtype=torch.float32).T  # a transposed view: BLAS takes it as is
    out = np.empty(len(queries), dtype=np.float64)
    rows = min(chunk_size, len(queries))
    with torch.inference_mode():
        sims = torch.empty(rows, keys_t.shape[1], device=device)  # reused: no fresh chunk x targets buffer per chunk
        for start in range(0, len(queries), chunk_size):
            chunk = queries[start:start + chunk_size].to(device=device, dtype=torch.float32)
            block = sims[: len(chunk)]
            torch.matmul(chunk, keys_t, out=block)
            if exclude is not None:
                skip = torch.as_tensor(exclude[start:start + len(chunk)], dtype=torch.long, device=device)
                rows_ = torch.nonzero(skip >= 0).flatten()
                block[rows_, skip[rows_]] = -torch.inf
            out[start:start + len(chunk)] = block.topk(k, dim=1).values.mean(dim=1).double().cpu().numpy()
    return out


def topk_mean_similarity_faiss(queries: torch.Tensor, keys: torch.Tensor, k: int) -> np.ndarray:
    """Same as :func:`topk_mean_similarity` with an exact FAISS inner-product index (optional dependency)."""
    import faiss
    import numpy as np

    k = min(k, len(keys))
    index = faiss.IndexFlatIP(keys.shape[1])
    index.add(np.ascontiguousarray(keys.float().numpy()))
    sims, _ = index.search(np.ascontiguousarray(queries.float().numpy()), k)
    return sims.astype(np.float64).mean(axis=1)
