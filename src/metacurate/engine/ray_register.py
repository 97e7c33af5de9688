"""A Ray node's first driver, registered in a process that can be stopped.

A raylet answers the registration of the first driver that connects to it only once the worker
processes it starts for that driver have registered in turn; one of them killed as it starts
(seen: SIGKILL, the OOM killer) and the answer never comes: the driver waits inside Ray's C++
``ray.init`` (``RegisterClient``, a blocking read on the raylet's socket) holding the GIL,
where no watchdog thread, signal handler or Ctrl-C of Python's runs. Later drivers are
answered at once. So, before the command's own ``ray.init``, a throwaway process connects
first and is stopped after :data:`REGISTER_S` seconds if it hangs: the command's driver is then
a later one. Skipped when the cluster's control store shows a driver that ran on this
machine's node before (Ray's own client; any doubt: the throwaway process runs).
"""

from __future__ import annotations

import subprocess
import sys

from metacurate.errors import EnvironmentFault

#: Seconds a throwaway driver may take to register (~1-2 s on 2 busy cores).
REGISTER_S = 30.0

#: What the throwaway driver runs (``sys.argv[1]``: the address).
FIRST_DRIVER = (
    "import ctypes, sys\n"
    "try:\n"
    "    ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG: SIGKILL when the command ends\n"
    "except Exception:\n"
    "    pass\n"
    "import ray\n"
    "ray.init(address=sys.argv[1], log_to_driver=False)\n"
    "ray.shutdown()\n"
)


def register_first_driver(address: str, given: str, seconds: float = REGISTER_S) -> None:
    """Make sure this node's raylet has answered a driver before the command's own connects
    (twice :data:`REGISTER_S` at most, then one line). A throwaway driver that fails (refused
    credentials, ...) is left to the command's own ``ray.init`` to explain."""
    if address.startswith("ray://") or not first_driver_here(address):
        return  # Ray Client: no raylet of this machine is involved
    for _ in range(2):
        proc = subprocess.Popen(
            [sys.executable, "-c", FIRST_DRIVER, address],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            proc.wait(seconds)
            return
        except subprocess.TimeoutExpired:
            pass
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    raise EnvironmentFault(
        f"{given} {address}: the cluster's raylet on this machine registered no driver in "
        f"{seconds:.0f} s, twice (a worker process it started died?); check the cluster "
        "('ray status'), restart it if need be ('ray stop; ray start --head'), and rerun"
    )


def first_driver_here(address: str) -> bool:
    """Whether the command's driver would be the first on this machine's node of the cluster
    at ``address``: no job in its control store ran its driver on a node at this machine's
    address. A cluster that refuses this process's credentials: no (the command's own
    ``ray.init`` says so, without a throwaway driver's ~20 s of retries first)."""
    try:
        from ray._private.services import get_node_ip_address
        from ray._raylet import GcsClient

        gcs = GcsClient(address=address)
        ip = get_node_ip_address()
        nodes = gcs.get_all_node_info(timeout=5).values()
        here = {node.node_id for node in nodes if node.node_manager_address == ip}
        jobs = gcs.get_all_job_info(timeout=5).values()
        return not any(job.driver_address.node_id in here for job in jobs)
    except Exception as exc:  # noqa: BLE001 - another Ray version, no answer: assume so
        refused = getattr(sys.modules.get("ray.exceptions"), "AuthenticationError", ())
        return not (refused and isinstance(exc, refused))
