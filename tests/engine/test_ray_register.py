"""The throwaway first driver (engine/ray_register.py) without a cluster: one that hangs is
stopped after the time limit, tried once more, then one line; none is left running."""

from __future__ import annotations

import os
import time

import pytest

from metacurate.engine import ray_register
from metacurate.errors import EnvironmentFault

HANGS = (
    "import os, sys, time\n"
    "open(os.path.join(os.environ['MARKS'], str(os.getpid())), 'w').close()\n"
    "time.sleep(600)\n"
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_hanging_registration_is_stopped_and_named(tmp_path, monkeypatch):
    monkeypatch.setenv("MARKS", str(tmp_path))
    monkeypatch.setattr(ray_register, "FIRST_DRIVER", HANGS)
    monkeypatch.setattr(ray_register, "first_driver_here", lambda address: True)
    started = time.monotonic()
    with pytest.raises(EnvironmentFault) as err:
        ray_register.register_first_driver("127.0.0.1:6379", "--ray-address", seconds=2)
    assert time.monotonic() - started < 30
    line = str(err.value)
    assert line.startswith("--ray-address 127.0.0.1:6379: ") and "\n" not in line
    assert "registered no driver in 2 s" in line
    pids = [int(name) for name in os.listdir(tmp_path)]
    assert len(pids) == 2  # tried twice
    assert not any(_alive(pid) for pid in pids)


def test_a_driver_that_ends_is_enough(tmp_path, monkeypatch):
    """A throwaway driver that ends, even with an error (refused credentials...), lets the
    command's own ``ray.init`` go on (and say what is wrong)."""
    monkeypatch.setattr(ray_register, "FIRST_DRIVER", "raise SystemExit(3)")
    monkeypatch.setattr(ray_register, "first_driver_here", lambda address: True)
    ray_register.register_first_driver("127.0.0.1:6379", "--ray-address", seconds=20)


def test_ray_client_addresses_run_nothing(monkeypatch):
    """``ray://`` (Ray Client) registers with no raylet of this machine: nothing is run."""
    monkeypatch.setattr(ray_register, "FIRST_DRIVER", "import time; time.sleep(600)")
    started = time.monotonic()
    ray_register.register_first_driver("ray://127.0.0.1:10001", "--ray-address", seconds=5)
    assert time.monotonic() - started < 1
