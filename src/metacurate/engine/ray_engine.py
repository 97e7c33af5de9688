"""The Ray engine: the same task functions as Ray tasks, as many in flight as the cluster
has CPUs (or ``--in-flight N``).

Plain tasks, not Ray Data actor pools: pools that take every CPU deadlock on small machines
(ray-project/ray#44687). Results (small dicts) come back to the driver, which sums them.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import TypeVar

from metacurate.engine.local import bounded_map
from metacurate.engine.submit import run_later
from metacurate.errors import MetacurateError

T = TypeVar("T")
R = TypeVar("R")


def _call(fn: Callable[[T], R], item: T) -> tuple[R, tuple[str, float, float]]:
    """Run one task; also say where (node id) and when (start, end) it ran."""
    import ray

    start = time.time()
    result = fn(item)
    return result, (ray.get_runtime_context().get_node_id(), start, time.time())


def peak_overlap(spans: Sequence[tuple[float, float]]) -> int:
    """The most intervals ``(start, end)`` open at one instant (an end before a start)."""
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


class RayEngine:
    """Runs tasks on a Ray cluster: ``address`` if given, the one already initialised in this
    process, or a local one of ``workers`` CPUs (default: all cores) started for this command
    and shut down by ``close``.

    Tasks in flight: ``in_flight`` if given, else ``workers`` if given, else the cluster's
    CPUs (``ray.cluster_resources()["CPU"]``), so a cluster of any size is kept busy; each
    task takes one CPU. The count is printed, and where the tasks ran (how many at once, on
    how many nodes) is recorded by :meth:`describe` and printed by :meth:`close`."""

    def __init__(
        self,
        workers: int | None,
        address: str | None,
        checkpoint: Callable[[str], None],
        in_flight: int | None = None,
    ) -> None:
        try:
            import ray
        except ImportError:
            raise MetacurateError("--engine ray needs Ray: pip install 'metacurate[ray]'") from None
        self.ray = ray
        self.checkpoint = checkpoint
        self._started_here = False
        if not ray.is_initialized():
            self._connect(address, workers or os.cpu_count() or 1)
            self._started_here = True
        self.cluster_cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
        self.in_flight = in_flight or workers or self.cluster_cpus
        self.workers = self.in_flight
        self._spans: list[tuple[str, float, float]] = []
        self._remote = ray.remote(num_cpus=1, max_retries=2)(_call)
        print(
            f"metacurate: ray: {_n(self.in_flight, 'task')} in flight ({self.cluster_cpus} CPUs "
            f"on {_n(self.nodes, 'node')})",
            file=sys.stderr,
        )

    def _connect(self, address: str | None, num_cpus: int) -> None:
        ray = self.ray
        try:
            if address:
                _probe(address)
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise MetacurateError(
                f"--ray-address {address or '(local)'}: cannot connect to a Ray cluster "
                f"({first}); start one with 'ray start --head', or leave out "
                "--ray-address to start a local one"
            ) from None

    def map(self, fn: Callable, items: Sequence[T]) -> Iterator[R]:
        """Yield ``fn(item, checkpoint)`` for every item, in completion order, as Ray tasks."""
        ray = self.ray
        fn_ref = ray.put(partial(fn, checkpoint=self.checkpoint))
        for ref in bounded_map(
            lambda item: self._remote.remote(fn_ref, item),
            lambda pending: _wait(ray, pending),
            items,
            self.in_flight,
        ):
            try:
                result, span = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                cause = getattr(exc, "cause", None)
                if isinstance(cause, MetacurateError):  # a user mistake, not a bug
                    raise type(cause)(str(cause)) from None
                raise
            self._spans.append(span)
            yield result

    def submit(self, fn: Callable[[T], R], arg: T) -> Callable[[], R]:
        """``fn(arg)`` runs here, in the driver, when the waiter is called (a Ray task would
        ship its input to a node and back for ~0.3 s of work)."""
        return run_later(fn, arg)

    def warm(self, n_items: int) -> None:
        """Nothing to start ahead: Ray's workers are the cluster's."""

    def describe(self) -> dict:
        """Where this command's tasks ran: in flight, cluster CPUs and nodes, the most tasks
        seen running at once and the nodes they ran on."""
        return {
            "kind": "ray",
            "in_flight": self.in_flight,
            "cluster_cpus": self.cluster_cpus,
            "nodes": self.nodes,
            "tasks": len(self._spans),
            "peak_running": peak_overlap([(s, e) for _, s, e in self._spans]),
            "nodes_used": len({node for node, _, _ in self._spans}),
        }

    def close(self) -> None:
        if self._spans:
            d = self.describe()
            print(
                f"metacurate: ray: {_n(d['tasks'], 'task')}, at most {d['peak_running']} "
                f"running at once, on {d['nodes_used']} of {d['nodes']} nodes",
                file=sys.stderr,
            )
            self._spans = []
        if self._started_here:
            self.ray.shutdown()
            self._started_here = False


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _wait(ray, pending: set) -> tuple[set, set]:
    done, rest = ray.wait(list(pending), num_returns=1)
    return set(done), set(rest)


def _probe(address: str) -> None:
    """Fail fast (5 s) when ``host:port`` answers nothing; Ray itself retries for minutes."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms: Ray's own lookup fails fast
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {address} ({exc.strerror or exc})") from None
