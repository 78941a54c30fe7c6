"""The SSL trainer: any :class:`ie.api.SSLMethod` on any timm backbone, resumable step for step.

A checkpoint (``checkpoint_dir/step-0000123.pt``, written atomically) holds the whole SSL model (backbone,
heads, momentum encoder), optimizer, LR scheduler, AMP scaler, RNG states, losses so far and the run's
configuration. :meth:`Trainer.fit` resumes from the newest one in ``checkpoint_dir``; because the data of step
``s`` is a pure function of (seed, s) (see :mod:`ie.learning.data`), the resumed run computes the same next steps.

Across explorer iterations (a fresh ``checkpoint_dir`` each), carry the model over with
:meth:`Trainer.load` (whole SSL model: backbone + heads + momentum encoder; fresh optimizer and schedule),
or start only the backbone from a file with ``init="checkpoint:<path>"``.

Data-parallel: when torch.distributed is initialised (``ie train --nproc N`` or torchrun; see
:mod:`ie.learning.distributed`), the model is wrapped in DistributedDataParallel, each rank trains on its slice of every
step's global batch of ``batch_size`` (so the data of step ``s`` is the single-process one), logged losses are
averaged over ranks, and rank 0 alone writes checkpoints while the others wait at a barrier.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ie.learning import distributed
from ie.api import IEError, SSLMethod
from ie.learning.backbones import IE_CHECKPOINT_FORMAT, create_backbone, load_backbone_weights, read_checkpoint
from ie.api import atomic_write, choose_device

if TYPE_CHECKING:  # pragma: no cover
    import torch

log = logging.getLogger(__name__)
CHECKPOINT_RE = re.compile(r"^step-(\d+)\.pt$")


@dataclass
class TrainResult:
    checkpoint: Path
    losses: list[float]
    steps: int  # steps done in total (including those before a resume)
    images_per_second: float  # of this call's steps (0 when nothing was left to do)
    resumed_from: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


# How a pretrained backbone is fine-tuned (``finetune = "gentle"``, the default from a pretrained start or checkpoint).
# benchmarks/finetune_start.py (clipart animals, efficientnet_lite0 from ImageNet, MoCo-v3, batch 32, iterations of 20
# steps; figures in benchmarks/RESULTS.md): at CPU budgets neither recipe improves the start beyond noise, and the
# paper's (LARS lr 0.1 on every layer, BN statistics re-estimated from small batches of augmented crops) once cost
# 0.065 kNN in 60 steps; a 10x smaller backbone learning rate with the BN statistics kept never lost more than noise.
# The trainer's only additions to an SSL method's options; every key is one of ``SSLMethod.OPTIONS`` (declared there,
# with type, default and help), which tests/learning/test_ssl.py checks for each registered SSL plugin.
GENTLE_FINETUNE: dict[str, Any] = {"backbone_lr_scale": 0.1, "freeze_bn_stats": True}
FULL_FINETUNE: dict[str, Any] = {"backbone_lr_scale": 1.0, "freeze_bn_stats": False}  # the paper's recipe
FINETUNE_MODES = ("auto", "gentle", "full")


def resolve_finetune(mode: str, pretrained: bool) -> str:
    """``auto`` -> ``gentle`` from a pretrained start, ``full`` (the paper's recipe on every layer) from random."""
    if mode not in FINETUNE_MODES:
        raise IEError(f"finetune must be one of {', '.join(FINETUNE_MODES)}, not {mode!r}")
    return ("gentle" if pretrained else "full") if mode == "auto" else mode




def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def latest_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The checkpoint with the highest step in ``checkpoint_dir``, if any."""
    found = [(int(m.group(1)), p) for p in Path(checkpoint_dir).glob("step-*.pt") if (m := CHECKPOINT_RE.match(p.name))]
    return max(found)[1] if found else None


def _rng_state() -> dict[str, Any]:
    import numpy as np
    import torch

    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    import numpy as np
    import torch

    random.setstate((state["python"][0], tuple(state["python"][1]), state["python"][2]))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _fingerprint(paths: Sequence[Path]) -> str:
    return hashlib.sha256("\n".join(map(str, paths)).encode()).hexdigest()[:16]


class Trainer:
    """Trains ``method`` on a timm ``arch`` backbone. See the module docstring for checkpoints and resume."""

    def __init__(
        self,
        method: SSLMethod,
        arch: str,
        *,
        image_size: int,
        batch_size: int,
        checkpoint_dir: Path,
        device: str = "auto",
        seed: int = 0,
        num_workers: int = 0,
        checkpoint_every: int = 0,
        init: str = "random",
        amp: bool = True,
        grad_clip: float | None = 3.0,
        keep_checkpoints: int = 2,
        finetune: str = "auto",
    ):
        import torch

        self.world_size = distributed.world_size()
        if batch_size < 2 * self.world_size or batch_size % self.world_size:
            raise IEError(f"batch_size must be >= 2 per process (batch norm and contrastive losses need pairs) and "
                          f"split evenly over {self.world_size} process(es), not {batch_size}")
        self.method, self.arch, self.image_size, self.batch_size = method, arch, image_size, batch_size
        self.checkpoint_dir = Path(checkpoint_dir)
        self.device = choose_device(distributed.device_for_rank(device))
        self.seed, self.num_workers, self.checkpoint_every = seed, num_workers, checkpoint_every
        self.grad_clip, self.keep_checkpoints = grad_clip, keep_checkpoints
        self.on_cuda = self.device.startswith("cuda")
        self.amp_dtype = None
        if amp and self.on_cuda:
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        seed_everything(seed)
        backbone, self.feature_dim = create_backbone(arch, init, image_size)
        self.start = str(getattr(backbone, "ie_start", init))
        self.finetune = resolve_finetune(finetune, pretrained=self.start != "random")
        for key, value in (GENTLE_FINETUNE if self.finetune == "gentle" else FULL_FINETUNE).items():
            if method.options.get(key) is None:  # the user's [options.ssl.NAME] win
                method.options[key] = value
        self.model = method.build_model(backbone, self.feature_dim)
        if not hasattr(self.model, "training_step") or not hasattr(self.model, "backbone"):
            raise IEError(f"SSL method {method.name!r} built a model without backbone/training_step (ie.api.SSLModel)")
        # channels_last on every device: oneDNN's CPU convolutions are as fast or faster on it
        # (benchmarks/cpu_threads.py, AMD EPYC AVX2: a bare EfficientNet-Lite0 step +0% at 2 threads to +49% with a
        # core busy; its 128 px features +50%)
        self.model.to(self.device, memory_format=torch.channels_last)
        if self.on_cuda:
            torch.backends.cudnn.benchmark = True
        self._training_step: Callable[..., torch.Tensor] = self.model.training_step
        if distributed.is_initialized():
            self._training_step = _wrap_ddp(self.model, self.device)

    @property
    def backbone(self) -> torch.nn.Module:
        return self.model.backbone

    # weights -------------------------------------------------------------------------------
    def load(self, path: Path) -> None:
        """Continue from a previous run: the whole SSL model from an ``ie train`` checkpoint (optimizer and
        schedule start fresh), or only the backbone (and momentum copy) from any other backbone checkpoint."""
        obj = read_checkpoint(Path(path))
        if obj.get("format") == IE_CHECKPOINT_FORMAT:
            self.model.load_state_dict(obj["model"])
            return
        load_backbone_weights(self.backbone, Path(path))
        momentum = getattr(self.model, "momentum_backbone", None)
        if momentum is not None:
            momentum.load_state_dict(self.backbone.state_dict())

    def save_timm_state_dict(self, path: Path) -> Path:
        """The backbone's weights, loadable by ``timm.create_model(arch, num_classes=0,
        pretrained=True, pretrained_cfg_overlay=dict(file=path))``; ``.safetensors`` or torch format by suffix."""
        import torch

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().to("cpu").contiguous() for k, v in self.backbone.state_dict().items()}
        with atomic_write(path) as f:
            if path.suffix == ".safetensors":
                from safetensors.torch import save

                f.write(save(state))
            else:
                torch.save(state, f)
        return path

    # checkpoints ---------------------------------------------------------------------------
    def _save_on_main(self, step: int, *args: Any) -> Path:
        """Rank 0 writes the checkpoint (see :meth:`_save`); every rank waits for it and returns its path."""
        path = self._save(step, *args) if distributed.is_main() else self.checkpoint_dir / f"step-{step:07d}.pt"
        distributed.barrier()
        return path

    def _save(self, step: int, total_steps: int, optimizer: Any, scheduler: Any, scaler: Any,
              losses: list[float], fingerprint: str) -> Path:
        import torch

        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        path = self.checkpoint_dir / f"step-{step:07d}.pt"
        state = {
            "format": IE_CHECKPOINT_FORMAT, "arch": self.arch, "ssl": self.method.name,
            "ssl_options": dict(self.method.options), "image_size": self.image_size, "batch_size": self.batch_size,
            "seed": self.seed, "feature_dim": self.feature_dim, "step": step, "total_steps": total_steps,
            "model": self.model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "scaler": scaler.state_dict(), "rng": _rng_state(), "losses": list(losses), "data": fingerprint,
        }
        with atomic_write(path) as f:
            torch.save(state, f)
        older = sorted(p for p in self.checkpoint_dir.glob("step-*.pt") if CHECKPOINT_RE.match(p.name) and p != path)
        for stale in older[: max(0, len(older) - (self.keep_checkpoints - 1))]:
            stale.unlink(missing_ok=True)
        return path

    def _restore(self, path: Path, total_steps: int, optimizer: Any, scheduler: Any, scaler: Any) -> dict[str, Any]:
        import torch

        state = torch.load(path, map_location="cpu", weights_only=True)
        if state.get("format") != IE_CHECKPOINT_FORMAT:
            raise IEError(f"{path} is not an ie train checkpoint")
        if state["arch"] != self.arch or state["ssl"] != self.method.name:
            raise IEError(f"{path} was written for {state['ssl']}/{state['arch']}, not {self.method.name}/{self.arch}; "
                          f"use another checkpoint dir")
        self.model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state["scheduler"] is not None:
            if state["total_steps"] == total_steps:
                scheduler.load_state_dict(state["scheduler"])
            else:  # the schedule was made for another length: replay this one's first steps instead
                with warnings.catch_warnings():  # "scheduler.step() before optimizer.step()": intended here
                    warnings.simplefilter("ignore")
                    for _ in range(int(state["step"])):
                        scheduler.step()
        scaler.load_state_dict(state["scaler"])
        _set_rng_state(state["rng"])
        return state

    # training ------------------------------------------------------------------------------
    def fit(self, image_paths: Sequence[Path], steps: int,
            on_step: Callable[[int], None] | None = None) -> TrainResult:
        """Train until ``steps`` steps are done, resuming from the newest checkpoint in ``checkpoint_dir``.

        ``on_step(done)`` is called after each optimizer step (``done`` steps in total)."""
        import torch
        from torch.utils.data import DataLoader

        from ie.learning.data import SeededTwoViewDataset, StepBatchSampler

        paths = [Path(p) for p in image_paths]
        fingerprint = _fingerprint(paths)
        optimizer, scheduler = self.method.configure_optimizer(self.model, self.batch_size, steps)
        scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        losses: list[float] = []
        start = 0
        latest = latest_checkpoint(self.checkpoint_dir)
        if latest is not None:
            state = self._restore(latest, steps, optimizer, scheduler, scaler)
            start, losses = int(state["step"]), list(state["losses"])
            if state["total_steps"] != steps and distributed.is_main():
                log.warning("%s was made for %s total steps, resuming towards %s", latest, state["total_steps"], steps)
            if distributed.is_main():
                if state["data"] != fingerprint:
                    log.warning("%s was trained on another image list; resuming on the new one", latest)
                log.info("resuming %s from step %d", self.checkpoint_dir, start)
            if start >= steps:
                return TrainResult(latest, losses, start, 0.0, resumed_from=start)
        else:
            seed_everything(self.seed)

        sampler = StepBatchSampler(len(paths), self.batch_size, self.seed, start, steps,
                                   rank=distributed.rank(), world_size=self.world_size)
        loader = DataLoader(
            SeededTwoViewDataset(paths, self.method.two_view_transform(self.image_size)),
            batch_sampler=sampler, num_workers=self.num_workers, pin_memory=self.on_cuda,
            persistent_workers=False, prefetch_factor=4 if self.num_workers else None,
        )
        memory_format = torch.channels_last
        autocast = (partial(torch.autocast, "cuda", dtype=self.amp_dtype) if self.amp_dtype is not None
                    else contextlib.nullcontext)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.model.train()
        pending: list[torch.Tensor] = []  # losses as device tensors: one sync per checkpoint, not per step
        checkpoint = latest
        began = time.perf_counter()
        step_ends: list[float] = []  # host-side step end times (benchmarks drop warm-up steps with them)
        step = start
        for step, (view_a, view_b) in enumerate(loader, start=start):
            view_a = view_a.to(self.device, non_blocking=True, memory_format=memory_format)
            view_b = view_b.to(self.device, non_blocking=True, memory_format=memory_format)
            with autocast():
                loss = self._training_step(view_a, view_b, step, steps)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if self.grad_clip:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(params, self.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            if scheduler is not None:
                scheduler.step()
            if self.world_size > 1:
                _average_buffers(self.model)
            pending.append(loss.detach().float())
            step_ends.append(time.perf_counter())
            done = step + 1
            if (self.checkpoint_every and done % self.checkpoint_every == 0) or done == steps:
                losses.extend(self._drain(pending))
                checkpoint = self._save_on_main(done, steps, optimizer, scheduler, scaler, losses, fingerprint)
            if on_step is not None:
                on_step(done)
        if self.on_cuda:
            torch.cuda.synchronize()
        finished = time.perf_counter()
        elapsed = finished - began
        losses.extend(self._drain(pending))
        ran = len(sampler)
        if checkpoint is None:  # steps == 0
            checkpoint = self._save_on_main(start, steps, optimizer, scheduler, scaler, losses, fingerprint)
        return TrainResult(checkpoint, losses, steps, ran * self.batch_size / elapsed if ran else 0.0,
                           resumed_from=start, extra={"started": began, "finished": finished,
                                                              "step_ends": step_ends})

    @staticmethod
    def _drain(pending: list[Any]) -> list[float]:
        import torch

        if not pending:
            return []
        values = distributed.all_reduce_mean(torch.stack(pending)).cpu().tolist()  # same on every rank
        pending.clear()
        if not all(v == v and abs(v) != float("inf") for v in values):
            raise IEError("training diverged (non-finite loss); lower the learning rate or enable grad clipping")
        return values


def _wrap_ddp(model: torch.nn.Module, device: str) -> torch.nn.Module:
    """``model.training_step`` behind DistributedDataParallel's ``forward`` (DDP syncs gradients only for
    calls through its own forward). The wrapper holds no state, so checkpoints keep single-process keys."""
    import torch
    from torch.nn.parallel import DistributedDataParallel

    class TrainingStep(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args: Any) -> torch.Tensor:
            return self.model.training_step(*args)

    device_ids = [torch.device(device).index or 0] if device.startswith("cuda") else None
    # buffers are averaged after each step instead (_average_buffers); the flag was renamed in newer torch
    import inspect

    renamed = "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
    no_sync = {"forward_sync_buffers" if renamed else "broadcast_buffers": False}
    return DistributedDataParallel(TrainingStep(), device_ids=device_ids, **no_sync)


def _average_buffers(model: torch.nn.Module) -> None:
    """Average the floating-point buffers (BN running statistics, also the momentum encoder's) over ranks after
    each step, in one all-reduce: every rank then holds the same model, with statistics of the whole batch."""
    import torch

    buffers = [b for b in model.buffers() if b.is_floating_point()]
    if not buffers:
        return
    flat = distributed.all_reduce_mean(torch.cat([b.detach().reshape(-1).float() for b in buffers]))
    for buffer, value in zip(buffers, torch.split(flat, [b.numel() for b in buffers])):
        buffer.copy_(value.view_as(buffer))
