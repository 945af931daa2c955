"""Wall time of grouping scan positions into neighbour groups.

Run: ``python benchmarks/grouping.py [--positions 100000] [--repeats 5]``.

Groups ``--positions`` uniformly random positions (one group per position, random seeds) for
gridsize 1 and gridsize 2 (neighbor_count 4), and for gridsize 2 with oversampling to twice as
many groups (neighbor_pool_size 6). Prints the median wall time over ``--repeats`` runs (after
one warm-up) and groups per second; the target is under 1 s for 100k groups.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from ptycho_engine.data.grouping import group_positions

TARGET_S = 1.0


def _median_seconds(run, repeats: int) -> float:
    run()  # warm-up: first-call allocations and imports
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Time the grouping cases and print one line per case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()
    m = options.positions
    xy = np.random.default_rng(0).uniform(0, np.sqrt(m) * 5.0, size=(m, 2))  # ~5 px spacing
    cases = [
        ("gridsize 1", dict(gridsize=1, neighbor_count=4, n_groups=m)),
        ("gridsize 2, K 4", dict(gridsize=2, neighbor_count=4, n_groups=m)),
        (
            "gridsize 2, oversampled x2, pool 6",
            dict(
                gridsize=2,
                neighbor_count=4,
                n_groups=2 * m,
                enable_oversampling=True,
                neighbor_pool_size=6,
            ),
        ),
    ]
    print(f"{m} random positions, median of {options.repeats} runs")
    for name, kwargs in cases:
        seconds = _median_seconds(
            lambda kw=kwargs: group_positions(xy, seed=1, **kw), options.repeats
        )
        groups = kwargs["n_groups"]
        verdict = "ok" if seconds < TARGET_S * groups / 100_000 else "SLOW"
        rate = groups / seconds
        print(f"{name:36s} {groups:>8d} groups {seconds:7.3f} s {rate:12,.0f} groups/s  {verdict}")


if __name__ == "__main__":
    main()
