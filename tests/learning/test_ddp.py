"""Data-parallel training: 2 processes, gloo, CPU; both ranks stay identical, rank 0 alone writes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ie.learning.data import StepBatchSampler

WORKER = Path(__file__).with_name("_ddp_worker.py")
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ranks_split_each_global_batch_into_contiguous_shards() -> None:
    whole = StepBatchSampler(10, 8, seed=3, start_step=0, end_step=4)
    shards = [list(StepBatchSampler(10, 8, seed=3, start_step=0, end_step=4, rank=r, world_size=2)) for r in (0, 1)]
    assert [a + b for a, b in zip(*shards)] == list(whole)  # the global batch of step s is the single-process one
    with pytest.raises(ValueError):
        StepBatchSampler(10, 7, seed=3, start_step=0, end_step=4, rank=0, world_size=2)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["mocov3", "simsiam"])
def test_two_gloo_ranks_hold_identical_weights_and_rank0_alone_writes(
    tmp_path: Path, noise_images: list[Path], method: str
) -> None:
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
           "--master_addr=127.0.0.1", f"--master_port={port}", str(WORKER), method,
           str(noise_images[0].parent), str(tmp_path)]
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rank0, rank1 = (json.loads((tmp_path / f"rank-{r}.json").read_text()) for r in (0, 1))
    assert rank0["world_size"] == rank1["world_size"] == 2
    assert len(rank0["checksums"]) == 4  # initial weights + after each of 3 steps
    assert rank0["checksums"] == rank1["checksums"]  # identical weights (and buffers) after every step
    assert len(set(rank0["checksums"])) == 4  # and the weights did move each step
    assert rank0["losses"] == rank1["losses"] and len(rank0["losses"]) == 3  # averaged over ranks
    assert rank1["saved"] == []  # rank 1 never wrote
    names = [Path(p).name for p in rank0["saved"]]  # atomic writes: a unique temp sibling of each checkpoint
    assert [n.startswith(f".step-000000{i}.pt.") and n.endswith(".tmp") for i, n in zip((2, 3), names)] == [True, True]
    assert len(names) == 2
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["step-0000002.pt", "step-0000003.pt"]
    assert rank0["checkpoint"] == rank1["checkpoint"] == str(tmp_path / "ck" / "step-0000003.pt")
