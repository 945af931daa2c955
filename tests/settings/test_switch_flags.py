"""A boolean setting's flag alone means true; with a value it takes that value."""

from __future__ import annotations

import argparse

import pytest

from ptycho_settings.flags import add_settings_arguments, typed_flags


@pytest.mark.parametrize(
    ("argv", "expected"),
    [(["--renormalise"], "true"), (["--renormalise", "false"], "false"), ([], None)],
)
def test_a_switch_alone_means_true(argv, expected):
    parser = argparse.ArgumentParser()
    add_settings_arguments(parser, "inference")
    flags = typed_flags(parser.parse_args(argv))
    assert (flags["renormalise"][0] if flags else None) == expected
