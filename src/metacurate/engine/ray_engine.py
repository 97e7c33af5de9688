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
from contextlib import suppress
from functools import partial
from typing import TypeVar

from metacurate.engine.local import bounded_map
from metacurate.engine.ray_register import register_first_driver
from metacurate.engine.submit import run_later
from metacurate.errors import EnvironmentFault, MetacurateError

T = TypeVar("T")
R = TypeVar("R")


def _call(fn: Callable[[T], R], item: T, cwd: str = "") -> tuple[R, tuple[str, float, float]]:
    """Run one task in the driver's working folder (relative paths mean there what they
    meant to the user; a Ray worker starts in the raylet's); also say where (node id) and
    when (start, end) it ran."""
    import ray

    if cwd and os.getcwd() != cwd and os.path.isdir(cwd):
        os.chdir(cwd)
    start = time.time()
    result = fn(item)
    return result, (ray.get_runtime_context().get_node_id(), start, time.time())


#: Seconds between the driver's looks at its tasks: Ctrl-C is handled, and a cluster that
#: went away noticed, at least this often.
POLL_S = 1.0


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
        stall_seconds: float = 300.0,
    ) -> None:
        try:
            import ray
        except ImportError:
            raise MetacurateError("--engine ray needs Ray: pip install 'metacurate[ray]'") from None
        self.ray = ray
        self.checkpoint = checkpoint
        self.stall_seconds = stall_seconds
        self._gone = False  # the cluster went away: nothing left to cancel
        self._started_here = False
        if not ray.is_initialized():
            self._connect(address, workers or os.cpu_count() or 1)
            self._started_here = True
        self.gcs_address = _gcs_address(ray)
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
        """``address``, else ``$RAY_ADDRESS`` (as under ``ray job submit``), else a local
        cluster started here; every failure is one line saying which of them failed."""
        ray = self.ray
        given = "--ray-address"
        if not address and os.environ.get("RAY_ADDRESS"):
            address, given = os.environ["RAY_ADDRESS"], "RAY_ADDRESS"
        answered = False
        try:
            if address:
                _probe(address)
                answered = True
                register_first_driver(address, given)  # its registration can hang
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(  # "local": a new cluster, not one 'ray start' left on this machine
                    address="local",
                    num_cpus=num_cpus,
                    include_dashboard=False,
                    log_to_driver=False,
                )
        except MetacurateError:
            raise
        except Exception as exc:  # noqa: BLE001 - Ray raises many types here, all one line
            raise MetacurateError(_connect_failure(exc, address, given, answered)) from None

    def map(self, fn: Callable, items: Sequence[T]) -> Iterator[R]:
        """Yield ``fn(item, checkpoint)`` for every item, in completion order, as Ray tasks.

        A task's user error is re-raised as itself; a failure of the cluster (a worker, a
        node or the raylet died; Ray's retries are spent) is one line (``EnvironmentFault``);
        tasks still running when the driver stops (an error, Ctrl-C) are cancelled, so none
        writes on once the output folder is unlocked."""
        ray = self.ray
        cwd = os.getcwd()
        pending: set = set()
        try:
            fn_ref = ray.put(partial(fn, checkpoint=self.checkpoint))

            def submit(item: T):
                ref = self._remote.remote(fn_ref, item, cwd)
                pending.add(ref)
                return ref

            for ref in bounded_map(submit, self._wait, items, self.in_flight):
                pending.discard(ref)
                try:
                    result, span = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    cause = getattr(exc, "cause", None)
                    if isinstance(cause, MetacurateError):  # a user mistake, not a bug
                        raise type(cause)(str(cause)) from None
                    raise
                self._spans.append(span)
                yield result
        except ray.exceptions.RayTaskError:
            raise
        except ray.exceptions.RayError as exc:
            raise _cluster_fault(exc) from None
        finally:
            self._cancel(pending)

    def _wait(self, pending: set) -> tuple[set, set]:
        """The next finished task, looking every :data:`POLL_S` (Ctrl-C is handled between
        looks). A cluster whose control store stops answering, or no task finished for
        ``stall_seconds`` (and 10 times the longest task so far), is one line: Ray itself
        may wait for many minutes, or end this process after 60 s without a word."""
        ray = self.ray
        since = time.monotonic()
        longest = max((end - start for _, start, end in self._spans), default=0.0)
        limit = max(self.stall_seconds, 10 * longest)
        while True:
            try:
                done, rest = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
            except ray.exceptions.RayError as exc:
                raise _cluster_fault(exc) from None
            if done:
                return set(done), set(rest)
            if not self._cluster_answers():
                self._gone = True
                raise EnvironmentFault(
                    f"ray: the cluster at {self.gcs_address} stopped answering (its head "
                    "node or raylet died); restart it ('ray start --head') and rerun: "
                    "finished tasks are kept"
                )
            if time.monotonic() - since > limit:
                raise EnvironmentFault(
                    f"ray: no task finished in {limit:.0f} s (a worker or node lost without "
                    "a word); check the cluster ('ray status') and rerun: finished tasks are "
                    "kept (--stall-seconds sets the limit)"
                )

    def _cluster_answers(self) -> bool:
        """The cluster's control store (GCS) still accepts connections."""
        host, _, port = self.gcs_address.rpartition(":")
        if not host or not port.isdigit():
            return True
        try:
            socket.create_connection((host, int(port)), timeout=2).close()
        except OSError:
            return False
        return True

    def _cancel(self, pending: set) -> None:
        """Stop tasks still running (a driver that stops leaves none writing)."""
        if self._gone:
            return
        for ref in pending:
            with suppress(Exception):
                self.ray.cancel(ref, force=True)

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
        if self._started_here and not self._gone:
            self.ray.shutdown()
            self._started_here = False


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _gcs_address(ray) -> str:
    """``host:port`` of the cluster's control store ("" when Ray does not say)."""
    try:
        return str(ray.get_runtime_context().gcs_address)
    except Exception:  # noqa: BLE001 - an older or newer Ray: no liveness probe
        return ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _connect_failure(
    exc: BaseException, address: str | None, given: str, answered: bool = False
) -> str:
    """The one line for a failed connection: refused credentials, nothing there, or a
    local cluster that did not start."""
    ray_exceptions = sys.modules.get("ray.exceptions")
    auth = getattr(ray_exceptions, "AuthenticationError", ())
    text = str(exc)
    if (auth and isinstance(exc, auth)) or "UNAUTHENTICATED" in text or "auth token" in text:
        return (
            f"{given} {address}: the Ray cluster refused this driver's credentials (token "
            "authentication); set RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH) to the cluster's "
            "token"
        )
    if address and answered:
        return (
            f"{given} {address}: a Ray cluster answers there but refused this driver "
            f"({_first_line(exc)}); if it uses token authentication ('ray start' turns it on "
            "by default), set RAY_AUTH_MODE=token and its token (RAY_AUTH_TOKEN, or "
            "~/.ray/auth_token) here"
        )
    if address:
        return (
            f"{given} {address}: cannot connect to a Ray cluster ({_first_line(exc)}); start "
            "one there with 'ray start --head', or unset it to start a local one"
        )
    return (
        f"ray: cannot start a local Ray cluster ({_first_line(exc)}); stop leftover Ray "
        "processes ('ray stop') or connect to a running one with --ray-address"
    )


def _cluster_fault(exc: BaseException) -> EnvironmentFault:
    """A worker, node, raylet or object lost: one line; the rerun resumes."""
    return EnvironmentFault(
        f"ray: the cluster failed under a task ({type(exc).__name__}: {_first_line(exc)}); "
        "check the cluster ('ray status') and rerun: finished tasks are kept"
    )


def _probe(address: str) -> None:
    """Fail fast (5 s) when ``host:port`` answers nothing; Ray itself retries for minutes."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms: Ray's own lookup fails fast
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {address} ({exc.strerror or exc})") from None
