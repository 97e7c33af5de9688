"""The balance stage: the pure rule (``rule``, ``keyed_hash``), choosing ``t`` (``threshold``),
the per-image text choice (``select``), and the balance task and driver (``task``, ``driver``).

Where ``t`` acts: :func:`entry_probs` (``p_e``), computed once by the driver and carried by the
task spec; everything downstream reads the decisions side-car the task writes.
"""

from metacurate.balance.keyed_hash import HASH_VERSION, uniform
from metacurate.balance.rule import (
    EXPECTED_SIZE_NOTE,
    decide,
    entry_probs,
    expected_size,
    keep_mask,
    keep_prob,
    sum_min_count_t,
)
from metacurate.balance.threshold import (
    row_threshold,
    t_for_tail_share,
    t_for_target_size,
    tail_share,
)

__all__ = [
    "EXPECTED_SIZE_NOTE",
    "HASH_VERSION",
    "decide",
    "entry_probs",
    "expected_size",
    "keep_mask",
    "keep_prob",
    "row_threshold",
    "sum_min_count_t",
    "t_for_tail_share",
    "t_for_target_size",
    "tail_share",
    "uniform",
]
