"""Grouping of scan positions into groups of C = gridsize² neighbouring positions.

A group is a seed position (column 0) plus C − 1 positions drawn without replacement from the
seed's ``neighbor_count`` nearest *other* positions. Positions and offsets follow
``ptycho_engine.conventions``; offsets are position − group centre, with no sign flip.
Randomness comes only from ``np.random.default_rng(seed)``, never the global generator, and
every step is vectorised over groups.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.spatial import cKDTree

from ptycho_engine import conventions
from ptycho_engine.errors import DataError

# Below this many neighbour combinations per seed, oversampling enumerates them all and draws
# distinct (seed, combination) pairs exactly; above it, duplicates are rare and are redrawn.
_ENUMERATION_LIMIT = 4096


def subsample_positions(
    n_positions: int, n_subsample: int | None, seed: int | None = None
) -> np.ndarray:
    """Choose which scan positions take part before grouping.

    Parameters
    ----------
    n_positions : int
        Number of positions M in the scan.
    n_subsample : int or None
        How many to keep; None keeps all.
    seed : int or None
        Seed of ``np.random.default_rng``.

    Returns
    -------
    ndarray of int64, shape (n_subsample,)
        Distinct indices into the scan, sorted ascending.
    """
    if n_subsample is None:
        return np.arange(n_positions, dtype=np.int64)
    if n_subsample < 1:
        raise ValueError(f"n_subsample must be >= 1, got {n_subsample}")
    if n_subsample > n_positions:
        raise DataError(
            f"n_subsample={n_subsample} exceeds the {n_positions} scan positions; "
            f"use at most {n_positions} or leave n_subsample unset"
        )
    chosen = np.random.default_rng(seed).choice(n_positions, size=n_subsample, replace=False)
    return np.sort(chosen).astype(np.int64)


def group_positions(
    xy: np.ndarray,
    *,
    gridsize: int,
    neighbor_count: int,
    n_groups: int | None,
    seed: int | None = None,
    sequential: bool = False,
    enable_oversampling: bool = False,
    neighbor_pool_size: int | None = None,
) -> np.ndarray:
    """Group scan positions with their nearest neighbours.

    Parameters
    ----------
    xy : ndarray, shape (M, 2)
        Positions [x, y] in object pixels.
    gridsize : int
        Groups hold C = gridsize² positions.
    neighbor_count : int
        K: members are drawn from the seed's K nearest other positions; C − 1 <= K < M
        (not used when gridsize is 1).
    n_groups : int or None
        Number of groups B; None gives one group per position.
    seed : int or None
        Seed of ``np.random.default_rng``; in sequential mode None means 0, so that the
        neighbour draw is reproducible.
    sequential : bool
        Use positions 0 … B − 1 as seeds, in order, instead of a random choice.
    enable_oversampling : bool
        Allow B > M (gridsize > 1) by drawing distinct neighbour combinations per seed.
    neighbor_pool_size : int or None
        Neighbours per seed considered when oversampling; None means ``neighbor_count``.

    Returns
    -------
    ndarray of int64, shape (B, C)
        Indices into ``xy``; column 0 is the seed. No index repeats within a group.

    Raises
    ------
    DataError
        When the scan cannot supply the groups asked for (too few positions, B > M without
        oversampling, more groups than distinct combinations, K out of range).
    """
    xy = _checked_positions(xy)
    n_positions = xy.shape[0]
    if int(gridsize) != gridsize or gridsize < 1:
        raise ValueError(f"gridsize must be a positive integer, got {gridsize}")
    size = int(gridsize) ** 2
    _check_group_fits(n_positions, gridsize)
    n_groups = n_positions if n_groups is None else int(n_groups)
    if n_groups < 1:
        raise ValueError(f"n_groups must be >= 1, got {n_groups}")
    rng = np.random.default_rng(0 if sequential and seed is None else seed)
    if size == 1:
        if n_groups > n_positions:
            raise DataError(
                f"n_groups={n_groups} exceeds the {n_positions} scan positions; with gridsize 1 "
                f"each group is one position, so ask for at most {n_positions} groups"
            )
        return _seeds(rng, n_positions, n_groups, sequential)[:, np.newaxis]
    _check_neighbor_count(neighbor_count, size, n_positions, "neighbor_count")
    tree = cKDTree(xy)
    if n_groups > n_positions:
        if not enable_oversampling:
            raise DataError(
                f"n_groups={n_groups} exceeds the {n_positions} scan positions; set "
                "enable_oversampling=True to draw several neighbour sets per position, "
                f"or ask for at most {n_positions} groups"
            )
        pool = neighbor_count if neighbor_pool_size is None else neighbor_pool_size
        _check_neighbor_count(pool, size, n_positions, "neighbor_pool_size")
        return _oversampled_groups(rng, xy, tree, n_groups, size, pool, sequential)
    seeds = _seeds(rng, n_positions, n_groups, sequential)  # (B,)
    neighbours = _nearest_others(xy, tree, seeds, neighbor_count)  # (B, K)
    members = _draw_without_replacement(rng, neighbours, size - 1)  # (B, C - 1)
    return np.concatenate([seeds[:, np.newaxis], members], axis=1)


def covering_groups(
    xy: np.ndarray, *, gridsize: int, neighbor_count: int, seed: int | None = None
) -> np.ndarray:
    """Groups that together hold every position at least once, as few as the rule allows.

    Groups follow the rule of :func:`group_positions` (a seed and C − 1 of its K nearest
    neighbours), but seeds are visited in a random order and a position already in a group
    seeds none; members are taken from positions not yet in a group first. A scan of M
    positions needs about M/C groups instead of M (one per position), so inference predicts
    each pattern about once instead of C times.

    Returns
    -------
    ndarray of int64, shape (B, C)
        Indices into ``xy``; column 0 is the seed; every index 0 … M − 1 appears.
    """
    xy = _checked_positions(xy)
    size = int(gridsize) ** 2
    n_positions = xy.shape[0]
    if size == 1:
        return np.arange(n_positions, dtype=np.int64)[:, np.newaxis]
    _check_group_fits(n_positions, gridsize)
    _check_neighbor_count(neighbor_count, size, n_positions, "neighbor_count")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_positions)
    neighbours = _nearest_others(xy, cKDTree(xy), order, neighbor_count)  # (M, K), in visit order
    tie_break = rng.random(neighbours.shape)  # (M, K): random among equally covered candidates
    covered = np.zeros(n_positions, dtype=bool)
    groups = []
    for row, position in enumerate(order):
        if covered[position]:
            continue
        candidates = neighbours[row]  # (K,)
        members = candidates[np.argsort(covered[candidates] + tie_break[row])[: size - 1]]
        group = np.concatenate([[position], members])
        covered[group] = True
        groups.append(group)
    return np.asarray(groups, dtype=np.int64)


def group_offsets(xy: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each group's centre and its members' offsets from it.

    Parameters
    ----------
    xy : ndarray, shape (M, 2)
        Positions [x, y] in object pixels.
    groups : ndarray of int, shape (B, C)
        Indices into ``xy``, as from :func:`group_positions`.

    Returns
    -------
    centres : ndarray of float64, shape (B, 2)
        Mean position of each group, [x, y].
    offsets : ndarray of float64, shape (B, C, 2)
        Member position − group centre, [x, y] (see ``ptycho_engine.conventions``).
    """
    xy = _checked_positions(xy)
    groups = np.asarray(groups)
    if groups.ndim != 2 or groups.dtype.kind not in "iu":
        raise ValueError(
            f"groups must be an integer array (B, C), got {groups.dtype} {groups.shape}"
        )
    if groups.size and (groups.min() < 0 or groups.max() >= xy.shape[0]):
        raise ValueError(f"groups index outside 0..{xy.shape[0] - 1}")
    return conventions.group_offsets(xy[groups])  # (B, 2), (B, C, 2)


def _checked_positions(xy: np.ndarray) -> np.ndarray:
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2 or xy.shape[0] == 0:
        raise ValueError(f"xy must have shape (M, 2) with M >= 1, got {xy.shape}")
    if not np.all(np.isfinite(xy)):
        raise DataError("scan positions contain NaN or inf")
    return xy


def _check_group_fits(n_positions: int, gridsize: int) -> None:
    size = int(gridsize) ** 2
    if n_positions < size:
        raise DataError(
            f"gridsize {gridsize} groups {size} positions, but the scan has only {n_positions}; "
            "use a smaller gridsize or more positions"
        )


def _check_neighbor_count(count: int, size: int, n_positions: int, name: str) -> None:
    if count < size - 1:
        raise DataError(
            f"{name}={count} is too small: a group of {size} needs {size - 1} neighbours per seed"
        )
    if count >= n_positions:
        raise DataError(
            f"{name}={count} needs more than the {n_positions} scan positions; "
            f"use at most {n_positions - 1}"
        )


def _seeds(rng: np.random.Generator, n_positions: int, n_groups: int, sequential: bool):
    if sequential:
        return np.arange(n_groups, dtype=np.int64)
    return rng.choice(n_positions, size=n_groups, replace=False).astype(np.int64)


def _nearest_others(xy: np.ndarray, tree: cKDTree, seeds: np.ndarray, k: int) -> np.ndarray:
    """Return the k nearest positions to each seed, the seed itself excluded, shape (B, k)."""
    _, found = tree.query(xy[seeds], k=k + 1)  # (B, k + 1), nearest first
    found = found.astype(np.int64)
    is_self = found == seeds[:, np.newaxis]
    # With duplicated positions the seed may tie with its copies and fall outside the k + 1
    # returned; then every returned index is another position and the farthest is dropped.
    is_self[~is_self.any(axis=1), -1] = True
    return found[~is_self].reshape(len(seeds), k)


def _draw_without_replacement(rng: np.random.Generator, candidates: np.ndarray, count: int):
    """Pick ``count`` entries of each row at random, without replacement, shape (B, count)."""
    # The ranks of i.i.d. uniform keys are a uniformly random permutation of each row.
    order = np.argsort(rng.random(candidates.shape), axis=1)[:, :count]
    return np.take_along_axis(candidates, order, axis=1)


def _oversampled_groups(rng, xy, tree, n_groups, size, pool, sequential) -> np.ndarray:
    n_positions = xy.shape[0]
    per_seed = math.comb(pool, size - 1)
    if n_groups > n_positions * per_seed:
        raise DataError(
            f"n_groups={n_groups} exceeds the {n_positions * per_seed} distinct groups available "
            f"({n_positions} positions x C({pool}, {size - 1}) neighbour sets); "
            "ask for fewer groups or raise neighbor_pool_size"
        )
    all_positions = np.arange(n_positions, dtype=np.int64)
    neighbours = _nearest_others(xy, tree, all_positions, pool)  # (M, pool)
    seeds, choices = _distinct_combinations(rng, n_positions, pool, size - 1, n_groups)
    if sequential:
        order = np.argsort(seeds, kind="stable")
        seeds, choices = seeds[order], choices[order]
    members = neighbours[seeds[:, np.newaxis], choices]  # (B, C - 1)
    return np.concatenate([seeds[:, np.newaxis], members], axis=1)


def _distinct_combinations(rng, n_positions, pool, count, n_groups):
    """Draw ``n_groups`` distinct (seed, combination of ``count`` of ``pool``) pairs.

    Returns seeds of shape (B,) and, per seed, sorted column indices into its pool, (B, count).
    """
    per_seed = math.comb(pool, count)
    if per_seed <= _ENUMERATION_LIMIT:
        table = np.array(list(itertools.combinations(range(pool), count)), dtype=np.int64)
        flat = rng.choice(n_positions * per_seed, size=n_groups, replace=False)
        return flat // per_seed, table[flat % per_seed]
    rows = np.empty((0, count + 1), dtype=np.int64)
    while len(rows) < n_groups:
        missing = n_groups - len(rows)
        seeds = rng.integers(0, n_positions, size=missing)
        choices = np.sort(np.argsort(rng.random((missing, pool)), axis=1)[:, :count], axis=1)
        rows = np.concatenate([rows, np.column_stack([seeds, choices])])
        _, first = np.unique(rows, axis=0, return_index=True)
        rows = rows[np.sort(first)]
    return rows[:n_groups, 0], rows[:n_groups, 1:]
