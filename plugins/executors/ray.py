"""The ``ray`` executor: search, download + validation and reward featurization as Ray tasks on a cluster.

``ie explore --executor ray --ray-address auto`` (or ``[options.executor.ray] address = "ray://head:10001"``)
joins a running cluster; with no address a local Ray instance is started (``num_cpus`` option) and shut down
with the run. The driver keeps the run store: tasks return hits, image bytes and features, and the driver
commits them (one writer). Engine rate limits hold for the whole cluster: one actor per engine holds its token
bucket and hands each request its wait, so N workers together stay within the engine's rate.

The executor owns its limiter actors for the run's life: it keeps the handles that created them (a handle fetched
by name keeps nothing alive in Ray), ends them in :meth:`RayExecutor.close`, and names them per executor so two
runs on one cluster never end each other's. A limiter restarts if its node dies (``max_restarts``) and its calls
are retried (``max_task_retries``): a lost bucket is rebuilt full, which costs at most one burst.

Needs ``pip install 'internet-explorer[ray]'``.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from ie.api import Executor, IEError, TokenBucket, hookimpl
from ie.api import Option

T = TypeVar("T")
R = TypeVar("R")
NAMESPACE = "internet-explorer"


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise IEError("the ray executor needs Ray: pip install 'internet-explorer[ray]'") from None
    return ray


class RateLimitActor:
    """Holds one engine's token bucket for the whole cluster; callers sleep the wait it hands out."""

    def __init__(self, rate: float, burst: float):
        self.bucket = TokenBucket(rate, burst)

    def reserve(self, tokens: float) -> float:
        return self.bucket.reserve(tokens)

    def penalize(self, seconds: float) -> None:
        self.bucket.penalize(seconds)


class ClusterRateLimiter:
    """A :class:`ie.api.RateLimiter` backed by a :class:`RateLimitActor` (picklable: tasks carry it)."""

    def __init__(self, actor: Any):
        self.actor = actor

    def acquire(self, tokens: float = 1.0) -> float:
        wait = float(_ray().get(self.actor.reserve.remote(tokens)))
        if wait > 0:
            time.sleep(wait)
        return wait

    def penalize(self, seconds: float) -> None:
        _ray().get(self.actor.penalize.remote(seconds))


def _apply(fn: Callable[..., Any], *args: Any) -> Any:
    """The one Ray task: ``fn`` travels by reference (module functions) or by value (cloudpickle)."""
    return fn(*args)


class RayExecutor(Executor):
    """Options: ``address`` (``auto``, ``ray://host:10001``; none = start a local instance), ``num_cpus``
    (local instance only), ``cpus_per_task`` (default 1), ``runtime_env`` (passed to ``ray.init``)."""

    OPTIONS = (
        Option("address", str, None, "a Ray cluster (auto, ray://head:10001); none: a local Ray instance"),
        Option("num_cpus", int, None, "CPUs of the local instance"),
        Option("cpus_per_task", float, 1, "CPUs each task reserves"),
        Option("runtime_env", dict, None, "Ray runtime_env for the workers"),
    )


    name = "ray"
    remote = True

    def __init__(self, options: Mapping[str, Any] | None = None):
        super().__init__(options)
        ray = _ray()
        self._started_here = False
        if not ray.is_initialized():
            address = self.options["address"] or None
            kwargs: dict[str, Any] = {"namespace": NAMESPACE, "include_dashboard": False, "log_to_driver": False}
            if address is None and self.options["num_cpus"]:
                kwargs["num_cpus"] = int(self.options["num_cpus"])
            if self.options["runtime_env"]:
                kwargs["runtime_env"] = dict(self.options["runtime_env"])
            try:
                ray.init(address=address, **kwargs)
            except ConnectionError as err:
                raise IEError(f"cannot reach the Ray cluster at {address!r}: {err} "
                              "(start it with `ray start --head`, or leave the address out for a local one)") from None
            self._started_here = True
        self._task = ray.remote(num_cpus=float(self.options["cpus_per_task"]))(_apply)
        self._actor_class = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)(RateLimitActor)
        self._limiters: dict[str, ClusterRateLimiter] = {}
        self._id = uuid.uuid4().hex[:8]

    def map(self, fn: Callable[..., R], items: Iterable[T], concurrency: int = 8, *,
            context: Any = None) -> Iterator[R]:
        """Submits up to ``concurrency`` tasks ahead and yields results in input order; ``context`` is put in
        the object store once. A consumer that stops early cancels what is still queued."""
        ray = _ray()
        context_ref = ray.put(context) if context is not None else None
        pending: deque[Any] = deque()
        source = iter(items)

        def submit() -> bool:
            try:
                item = next(source)
            except StopIteration:
                return False
            args = (context_ref, item) if context_ref is not None else (item,)
            pending.append(self._task.remote(fn, *args))  # top-level refs are resolved on the worker
            return True

        try:
            while len(pending) < max(1, concurrency) and submit():
                pass
            while pending:
                result = ray.get(pending.popleft())
                submit()
                yield result
        finally:
            for ref in pending:
                ray.cancel(ref)

    def rate_limiter(self, key: str, rate: float, burst: float = 1.0) -> ClusterRateLimiter:
        """The one limiter actor of ``key`` for this executor's life (created on first use, then the same one:
        every worker and iteration shares its bucket). It lives on the driver's node where Ray allows it."""
        if key not in self._limiters:
            ray = _ray()
            options: dict[str, Any] = {"name": f"ie-rate-limit:{key}:{self._id}", "namespace": NAMESPACE}
            try:  # near the driver, which outlives any worker node; anywhere else if that node is gone
                from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

                node = ray.get_runtime_context().get_node_id()
                options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node_id=node, soft=True)
            except Exception:  # noqa: BLE001 - Ray Client drivers have no node of their own
                pass
            self._limiters[key] = ClusterRateLimiter(self._actor_class.options(**options).remote(rate, burst))
        return self._limiters[key]

    def close(self) -> None:
        ray = _ray()
        if ray.is_initialized():
            for limiter in self._limiters.values():
                try:
                    ray.kill(limiter.actor, no_restart=True)
                except Exception:  # noqa: BLE001 - already gone with its node or the cluster
                    pass
        self._limiters.clear()
        if self._started_here:
            ray.shutdown()
            self._started_here = False


@hookimpl
def ie_register_executors(register):  # type: ignore[no-untyped-def]
    register("ray", RayExecutor, help="Ray tasks on a cluster: search, download, featurize (pip install ...[ray])")
