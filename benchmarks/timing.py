"""Timing in rotated, interleaved rounds: the one loop behind ``run.py`` and the two
``compare_*.py`` scripts.

Every contender is timed in every round, each round starting one contender later, so
the load of other jobs on a shared machine hits all of them alike; a contender's time in
a round is the mean over a block of calls sized to a budget. The garbage collector stays
on, but what exists when timing starts (imported libraries, the models) is frozen out of
its full passes, so no contender pays for traversing another's objects.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def timed(f: Callable[[], object], number: int, clock: Callable[[], float]) -> float:
    """Seconds per call of f(), over ``number`` calls, by ``clock``."""
    t0 = clock()
    for _ in range(number):
        f()
    return (clock() - t0) / number


def block_size(f: Callable[[], object], budget: float, clock: Callable[[], float]) -> int:
    """How many calls of f() take about ``budget`` seconds (f timed once, after a
    collection)."""
    gc.collect()
    return max(1, int(budget / max(timed(f, 1, clock), 1e-9)))


def rotated_rounds(steps: dict[str, Callable[[], object]], number: dict[str, int],
                   rounds: int, clock: Callable[[], float]) -> dict[str, list[float]]:
    """name -> seconds per call in each round, for every contender's step."""
    names = list(steps)
    times: dict[str, list[float]] = {n: [] for n in names}
    gc.collect()
    gc.freeze()
    try:
        for r in range(rounds):
            for name in names[r % len(names):] + names[: r % len(names)]:
                gc.collect()
                times[name].append(timed(steps[name], number[name], clock))
    finally:
        gc.unfreeze()
    return times
