"""Console output: ``--quiet``, ``--verbose`` and the default.

``--quiet`` prints only results and errors; ``--verbose`` adds Lightning's information lines;
by default training shows Lightning's progress bar and nothing else of Lightning.

The runs are in-process (``ptycho_engine.cli.main``) on a tiny simulated scan. Output is read
from the file descriptors (``capfd``: Lightning's handler may hold the real stderr) and from
the log records (``caplog``: under pytest Lightning's records may go to the root logger).
"""

from __future__ import annotations

import re

import pytest

from ptycho_engine.cli import build_parser, main
from tests.engine.simdata import simulated_files

TINY = [
    "--nepochs",
    "1",
    "--n-groups",
    "16",
    "--batch-size",
    "8",
    "--n-filters-scale",
    "1",
    "--accelerator",
    "cpu",
]
RESULT_LINE = re.compile(
    r"^(trained \d+ epochs|reconstructed \d+ positions|[a-z ]+:\s+\S"
    r"|(amplitude|phase)\s+SSIM|FRC resolution)"
)
LIGHTNING_INFO = "GPU available"


def engine_subcommands():
    """(name, parser) of every subcommand except `config` (settings only, never verbose)."""
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name, subparser in commands.items():
        if name == "config":
            continue
        nested = subparser._subparsers
        if nested is None:
            yield name, name, subparser
        else:
            for action, leaf in nested._group_actions[0].choices.items():
                yield name, f"{name} {action}", leaf


def _params():
    for _top, name, parser in engine_subcommands():
        yield pytest.param(parser, id=name)


@pytest.mark.parametrize("parser", list(_params()))
def test_every_engine_subcommand_has_quiet_and_verbose(parser):
    options = {option for action in parser._actions for option in action.option_strings}
    assert {"--quiet", "--verbose"} <= options


def test_quiet_and_verbose_exclude_each_other(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--quiet", "--verbose", "--output-dir", str(tmp_path)])
    assert "not allowed with" in capsys.readouterr().err


def run(argv, capfd, caplog) -> tuple[str, str]:
    """Return (stdout, stderr plus Lightning's log records) of a successful ``ptycho`` run."""
    status = main(argv)
    out, err = capfd.readouterr()
    assert status == 0, err
    records = [r.getMessage() for r in caplog.records if r.name.startswith("lightning")]
    return out, err + "".join(f"{message}\n" for message in records)


@pytest.fixture(scope="module")
def train_file():
    return simulated_files()[0]


def test_quiet_training_prints_only_result_lines(tmp_path, train_file, capfd, caplog):
    out, err = run(
        [
            "train",
            "--train-data-file",
            str(train_file),
            "--output-dir",
            str(tmp_path),
            *TINY,
            "--quiet",
        ],
        capfd,
        caplog,
    )
    assert err == ""
    lines = out.splitlines()
    assert lines[0].startswith("trained 1 epochs")
    assert all(RESULT_LINE.match(line) for line in lines), lines
    assert "Epoch" not in out  # no progress bar


def test_default_training_shows_the_progress_bar_but_no_lightning_info(
    tmp_path, train_file, capfd, caplog
):
    out, err = run(
        ["train", "--train-data-file", str(train_file), "--output-dir", str(tmp_path), *TINY],
        capfd,
        caplog,
    )
    assert "Epoch 0" in out + err  # Lightning's TQDM progress bar
    assert LIGHTNING_INFO not in out + err


def test_verbose_training_shows_lightning_info_lines(tmp_path, train_file, capfd, caplog):
    out, err = run(
        [
            "train",
            "--train-data-file",
            str(train_file),
            "--output-dir",
            str(tmp_path),
            *TINY,
            "--verbose",
        ],
        capfd,
        caplog,
    )
    assert LIGHTNING_INFO in out + err
    assert "trained 1 epochs" in out


def test_quiet_inference_prints_only_result_lines(tmp_path, train_file, capfd, caplog):
    model = tmp_path / "model"
    run(
        [
            "train",
            "--train-data-file",
            str(train_file),
            "--output-dir",
            str(model),
            *TINY,
            "--quiet",
        ],
        capfd,
        caplog,
    )
    _, test_file = simulated_files()
    out, err = run(
        [
            "infer",
            "--model-path",
            str(model),
            "--test-data-file",
            str(test_file),
            "--output-dir",
            str(tmp_path / "recon"),
            "--quiet",
        ],
        capfd,
        caplog,
    )
    assert err == "" and "reconstructing" not in out  # no inference progress bar
    assert all(RESULT_LINE.match(line) for line in out.splitlines()), out


def test_quiet_still_prints_errors(tmp_path, train_file, capfd):
    status = main(
        [
            "train",
            "--train-data-file",
            str(train_file),
            "--output-dir",
            str(tmp_path),
            "--nepochs",
            "0",
            "--quiet",
        ]
    )
    out, err = capfd.readouterr()
    assert status == 2 and out == "" and err.startswith("error: ") and "nepochs" in err
