"""Grouping of scan positions: neighbours, reproducibility, oversampling, bounds, offsets."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from ptycho_engine.data.grouping import (
    covering_groups,
    group_offsets,
    group_positions,
    subsample_positions,
)
from ptycho_engine.errors import DataError


def random_xy(m: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 100, size=(m, 2))


def grid_xy(rows: int, cols: int, step: float = 5.0) -> np.ndarray:
    y, x = np.meshgrid(np.arange(rows) * step, np.arange(cols) * step, indexing="ij")
    return np.column_stack([x.ravel(), y.ravel()])


def line_xy(m: int) -> np.ndarray:
    return np.column_stack([np.arange(m, dtype=float), np.zeros(m)])


def assert_members_are_nearest(xy, groups, k):
    """Every member is another position no farther than the seed's k-th nearest other one."""
    distances = cdist(xy[groups[:, 0]], xy)  # (B, M)
    distances[np.arange(len(groups)), groups[:, 0]] = np.inf  # the seed is not its own neighbour
    kth = np.sort(distances, axis=1)[:, k - 1]  # (B,)
    member = np.take_along_axis(distances, groups[:, 1:], axis=1)  # (B, C - 1)
    assert np.all(member <= kth[:, None] + 1e-12)


def assert_no_repeats_within_groups(groups):
    ordered = np.sort(groups, axis=1)
    assert np.all(ordered[:, 1:] != ordered[:, :-1])


def test_gridsize_one_groups_every_position_alone_by_default():
    groups = group_positions(random_xy(30), gridsize=1, neighbor_count=4, n_groups=None, seed=3)
    assert groups.shape == (30, 1) and groups.dtype == np.int64
    np.testing.assert_array_equal(np.sort(groups[:, 0]), np.arange(30))


@pytest.mark.parametrize("xy", [random_xy(200), grid_xy(12, 15)], ids=["random", "grid"])
@pytest.mark.parametrize(("gridsize", "k"), [(2, 4), (2, 7), (3, 10)])
def test_groups_are_true_neighbours_without_repeats(xy, gridsize, k):
    groups = group_positions(xy, gridsize=gridsize, neighbor_count=k, n_groups=150, seed=1)
    assert groups.shape == (150, gridsize**2) and groups.dtype == np.int64
    assert_members_are_nearest(xy, groups, k)
    assert_no_repeats_within_groups(groups)
    assert len(np.unique(groups[:, 0])) == 150  # distinct seeds


def test_same_seed_reproduces_and_another_seed_differs():
    xy = random_xy(100)
    first = group_positions(xy, gridsize=2, neighbor_count=6, n_groups=50, seed=7)
    again = group_positions(xy, gridsize=2, neighbor_count=6, n_groups=50, seed=7)
    other = group_positions(xy, gridsize=2, neighbor_count=6, n_groups=50, seed=8)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first[:, 0], other[:, 0])


def test_grouping_does_not_touch_the_global_random_state():
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    group_positions(random_xy(50), gridsize=2, neighbor_count=4, n_groups=20, seed=None)
    assert np.random.random() == expected


def test_sequential_mode_seeds_in_order_and_is_reproducible_without_a_seed():
    xy = random_xy(40)
    groups = group_positions(xy, gridsize=2, neighbor_count=5, n_groups=25, sequential=True)
    np.testing.assert_array_equal(groups[:, 0], np.arange(25))
    again = group_positions(xy, gridsize=2, neighbor_count=5, n_groups=25, sequential=True)
    np.testing.assert_array_equal(groups, again)
    assert_members_are_nearest(xy, groups, 5)


def test_all_positions_in_one_group_when_m_equals_c():
    groups = group_positions(grid_xy(2, 2), gridsize=2, neighbor_count=3, n_groups=None, seed=0)
    assert groups.shape == (4, 4)
    np.testing.assert_array_equal(np.sort(groups, axis=1), np.tile(np.arange(4), (4, 1)))


def test_duplicated_positions_still_give_distinct_indices_per_group():
    xy = np.repeat(random_xy(5), 6, axis=0)  # every position six times
    groups = group_positions(xy, gridsize=2, neighbor_count=4, n_groups=None, seed=2)
    assert groups.shape == (30, 4)
    assert_no_repeats_within_groups(groups)
    # Five copies share each position, so the 4 nearest others are copies of the seed.
    np.testing.assert_array_equal(xy[groups], np.broadcast_to(xy[groups[:, :1]], (30, 4, 2)))


def test_oversampling_gives_more_groups_than_positions_all_distinct():
    xy = random_xy(20)
    groups = group_positions(
        xy,
        gridsize=2,
        neighbor_count=4,
        n_groups=70,
        seed=5,
        enable_oversampling=True,
        neighbor_pool_size=6,
    )
    assert groups.shape == (70, 4)
    assert_no_repeats_within_groups(groups)
    assert_members_are_nearest(xy, groups, 6)
    keys = np.column_stack([groups[:, 0], np.sort(groups[:, 1:], axis=1)])
    assert len(np.unique(keys, axis=0)) == 70


def test_oversampling_can_use_every_combination_exactly_once():
    xy = random_xy(10)
    available = 10 * math.comb(4, 3)
    groups = group_positions(
        xy, gridsize=2, neighbor_count=4, n_groups=available, seed=0, enable_oversampling=True
    )
    keys = np.column_stack([groups[:, 0], np.sort(groups[:, 1:], axis=1)])
    assert len(np.unique(keys, axis=0)) == available


def test_oversampling_with_a_large_pool_draws_distinct_groups():
    # C(20, 8) combinations per seed is past the enumeration limit: the redraw path is used.
    xy = random_xy(30)
    groups = group_positions(
        xy, gridsize=3, neighbor_count=20, n_groups=500, seed=4, enable_oversampling=True
    )
    assert groups.shape == (500, 9)
    assert_no_repeats_within_groups(groups)
    assert_members_are_nearest(xy, groups, 20)
    keys = np.column_stack([groups[:, 0], np.sort(groups[:, 1:], axis=1)])
    assert len(np.unique(keys, axis=0)) == 500


def test_sequential_oversampling_orders_groups_by_seed():
    groups = group_positions(
        random_xy(10),
        gridsize=2,
        neighbor_count=4,
        n_groups=25,
        sequential=True,
        enable_oversampling=True,
    )
    assert np.all(np.diff(groups[:, 0]) >= 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            dict(gridsize=2, neighbor_count=4, n_groups=60),
            "n_groups=60 exceeds the 50 .*oversampling",
        ),
        (
            dict(gridsize=1, neighbor_count=4, n_groups=51),
            "n_groups=51 exceeds the 50 .*at most 50",
        ),
        (
            dict(gridsize=2, neighbor_count=2, n_groups=10),
            "neighbor_count=2 is too small: .*needs 3",
        ),
        (
            dict(gridsize=2, neighbor_count=50, n_groups=10),
            "neighbor_count=50 needs more than the 50",
        ),
        (
            dict(gridsize=8, neighbor_count=63, n_groups=10),
            "gridsize 8 groups 64 positions, .*only 50",
        ),
        (
            dict(gridsize=2, neighbor_count=3, n_groups=51, enable_oversampling=True),
            r"n_groups=51 exceeds the 50 distinct groups .*C\(3, 3\)",
        ),
        (
            dict(
                gridsize=2,
                neighbor_count=4,
                n_groups=60,
                enable_oversampling=True,
                neighbor_pool_size=2,
            ),
            "neighbor_pool_size=2 is too small",
        ),
    ],
)
def test_impossible_requests_raise_data_error_naming_the_numbers(kwargs, message):
    with pytest.raises(DataError, match=message):
        group_positions(random_xy(50), seed=0, **kwargs)


@pytest.mark.parametrize(
    ("xy", "kwargs"),
    [
        (np.zeros((5, 3)), dict(gridsize=1)),
        (np.zeros((0, 2)), dict(gridsize=1)),
        (random_xy(5), dict(gridsize=0)),
        (random_xy(5), dict(gridsize=1, n_groups=0)),
    ],
)
def test_invalid_arguments_raise_value_error(xy, kwargs):
    kwargs = {"neighbor_count": 4, "n_groups": None, **kwargs}
    with pytest.raises(ValueError):
        group_positions(xy, **kwargs)


def test_non_finite_positions_are_refused():
    xy = random_xy(10)
    xy[3, 1] = np.nan
    with pytest.raises(DataError, match="NaN or inf"):
        group_positions(xy, gridsize=1, neighbor_count=4, n_groups=None)


layouts = st.sampled_from(["random", "grid", "line", "duplicated", "single_point"])


def make_layout(kind: str, m: int, seed: int) -> np.ndarray:
    if kind == "grid":
        cols = max(1, int(math.sqrt(m)))
        return grid_xy(math.ceil(m / cols), cols)[:m]
    if kind == "line":
        return line_xy(m)
    if kind == "duplicated":
        return np.repeat(random_xy(m, seed), 2, axis=0)[:m]
    if kind == "single_point":
        return np.zeros((m, 2))
    return random_xy(m, seed)


@settings(max_examples=80, deadline=None)
@given(
    kind=layouts,
    m=st.integers(1, 30),
    gridsize=st.integers(1, 3),
    data=st.data(),
)
def test_indices_stay_in_bounds_for_every_layout_and_mode(kind, m, gridsize, data):
    size = gridsize**2
    if m < size:
        gridsize, size = 1, 1
    seed = data.draw(st.integers(0, 2**16))
    xy = make_layout(kind, m, seed)
    k = data.draw(st.integers(max(size - 1, 1), max(m - 1, 1)))
    if size > 1 and data.draw(st.booleans()):
        pool = data.draw(st.integers(size - 1, m - 1))
        n_groups = data.draw(st.integers(1, m * math.comb(pool, size - 1)))
        extra = dict(enable_oversampling=True, neighbor_pool_size=pool)
    else:
        n_groups, extra = data.draw(st.one_of(st.none(), st.integers(1, m))), {}
    groups = group_positions(
        xy,
        gridsize=gridsize,
        neighbor_count=k,
        n_groups=n_groups,
        seed=seed,
        sequential=data.draw(st.booleans()),
        **extra,
    )
    assert groups.shape == (m if n_groups is None else n_groups, size)
    assert groups.dtype == np.int64
    assert groups.min() >= 0 and groups.max() < m
    assert_no_repeats_within_groups(groups)


def test_offsets_are_position_minus_group_centre_without_sign_flip():
    xy = np.array([[10.0, 20.0], [14.0, 20.0], [10.0, 26.0], [14.0, 26.0], [99.0, 99.0]])
    centres, offsets = group_offsets(xy, np.array([[0, 1, 2, 3]]))
    np.testing.assert_allclose(centres, [[12.0, 23.0]])
    np.testing.assert_allclose(offsets[0], [[-2, -3], [2, -3], [-2, 3], [2, 3]])


def test_offsets_sum_to_zero_and_rebuild_positions():
    xy = random_xy(60)
    groups = group_positions(xy, gridsize=2, neighbor_count=5, n_groups=40, seed=0)
    centres, offsets = group_offsets(xy, groups)
    assert centres.shape == (40, 2) and offsets.shape == (40, 4, 2)
    np.testing.assert_allclose(offsets.sum(axis=1), 0, atol=1e-9)
    np.testing.assert_allclose(centres[:, None, :] + offsets, xy[groups])


def test_offsets_refuse_indices_past_the_end():
    with pytest.raises(ValueError, match="outside 0..2"):
        group_offsets(random_xy(3), np.array([[0, 3]]))


def test_subsample_is_sorted_distinct_and_reproducible():
    chosen = subsample_positions(100, 30, seed=4)
    assert chosen.dtype == np.int64 and chosen.shape == (30,)
    assert np.all(np.diff(chosen) > 0) and chosen.max() < 100
    np.testing.assert_array_equal(chosen, subsample_positions(100, 30, seed=4))
    assert not np.array_equal(chosen, subsample_positions(100, 30, seed=5))


def test_subsample_none_keeps_every_position_and_too_many_is_refused():
    np.testing.assert_array_equal(subsample_positions(7, None), np.arange(7))
    with pytest.raises(DataError, match="n_subsample=8 exceeds the 7 scan positions"):
        subsample_positions(7, 8, seed=0)
    with pytest.raises(ValueError, match="n_subsample must be >= 1"):
        subsample_positions(7, 0)


@pytest.mark.parametrize("xy", [random_xy(200), grid_xy(12, 15)], ids=["random", "grid"])
@pytest.mark.parametrize(("gridsize", "k"), [(2, 4), (2, 7), (3, 10)])
def test_covering_groups_hold_every_position_with_few_groups(xy, gridsize, k):
    groups = covering_groups(xy, gridsize=gridsize, neighbor_count=k, seed=1)
    c, m = gridsize**2, len(xy)
    assert groups.shape[1] == c and groups.dtype == np.int64
    np.testing.assert_array_equal(np.unique(groups), np.arange(m))  # every position, at least once
    assert_members_are_nearest(xy, groups, k)
    assert_no_repeats_within_groups(groups)
    assert len(np.unique(groups[:, 0])) == len(groups)  # no position seeds twice
    # close to m/c rather than one group per position (measured 1.2–1.7 × m/c)
    assert len(groups) < 2 * m / c


def test_covering_groups_are_reproducible_and_trivial_at_gridsize_one():
    xy = random_xy(100)
    np.testing.assert_array_equal(
        covering_groups(xy, gridsize=2, neighbor_count=4, seed=5),
        covering_groups(xy, gridsize=2, neighbor_count=4, seed=5),
    )
    np.testing.assert_array_equal(
        covering_groups(xy, gridsize=1, neighbor_count=4)[:, 0], np.arange(100)
    )
    with pytest.raises(DataError, match="neighbor_count"):
        covering_groups(xy, gridsize=2, neighbor_count=2)
