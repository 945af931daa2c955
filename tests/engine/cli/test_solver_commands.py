"""``ptycho reconstruct`` and ``ptycho infer --refine-iterations`` end to end on a tiny scan."""

import json
from pathlib import Path

import numpy as np
import pytest

from ptycho_engine.cli import main
from tests.engine.simdata import simulated_files

QUIET = ["--accelerator", "cpu", "--enable-progress-bar", "false", "--quiet"]


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> Path:
    train_file, _ = simulated_files()
    out = tmp_path_factory.mktemp("solve") / "flat"
    assert (
        main(
            [
                "reconstruct",
                "--data-file",
                str(train_file),
                "--output-dir",
                str(out),
                "--iterations",
                "30",
                *QUIET,
            ]
        )
        == 0
    )
    return out


def test_reconstruct_writes_object_report_curve_and_metrics(solved):
    report = json.loads((solved / "solver.json").read_text())
    # 30 is the most: the stopping rule ends the run once the likelihood stops improving
    assert report["start"] == "flat" and 5 <= report["iterations"] <= 30
    assert report["stopped_by"] in ("tolerance", "iterations")
    assert report["nll_after"] < report["nll_before"]
    assert len(report["nll_per_iteration"]) == report["iterations"]
    assert (solved / "solver_nll.png").stat().st_size > 1000
    metrics = json.loads((solved / "metrics.json").read_text())
    assert metrics["solver"]["nll_after"] == report["nll_after"]
    assert metrics["amplitude"]["ssim"] > 0.75 and metrics["phase"]["ssim"] > 0.8
    with np.load(solved / "reconstruction.npz") as result:
        assert result["object"].dtype == np.complex64 and "probe" not in result


def test_reconstruct_refuses_to_replace_a_result(solved, capsys):
    train_file, _ = simulated_files()
    before = (solved / "reconstruction.npz").read_bytes()
    status = main(
        [
            "reconstruct",
            "--data-file",
            str(train_file),
            "--output-dir",
            str(solved),
            "--iterations",
            "1",
            *QUIET,
        ]
    )
    err = capsys.readouterr().err
    assert status == 2 and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert (solved / "reconstruction.npz").read_bytes() == before


def test_reconstruct_continues_from_an_earlier_result_and_refines_the_probe(solved, tmp_path):
    train_file, _ = simulated_files()
    out = tmp_path / "more"
    assert (
        main(
            [
                "reconstruct",
                "--data-file",
                str(train_file),
                "--output-dir",
                str(out),
                "--iterations",
                "3",
                "--init",
                str(solved / "reconstruction.npz"),
                "--refine-probe",
                "true",
                *QUIET,
            ]
        )
        == 0
    )
    first = json.loads((solved / "solver.json").read_text())
    second = json.loads((out / "solver.json").read_text())
    # the start is the earlier result (outside the illuminated region it was zeroed)
    assert second["start"].endswith("reconstruction.npz")
    assert second["nll_before"] < first["nll_before"]
    from ptycho_engine.data.npz import load_diffraction

    measured_probe = load_diffraction(train_file).probe  # (1, N, N)
    with np.load(out / "reconstruction.npz") as result:
        refined_probe = result["probe"]
    # stored on the data's scale (as probeGuess), changed by a few steps but still that probe
    assert refined_probe.shape == (1, 64, 64) and not np.array_equal(refined_probe, measured_probe)
    overlap = abs(np.vdot(refined_probe, measured_probe)) / (
        np.linalg.norm(refined_probe) * np.linalg.norm(measured_probe)
    )
    assert overlap > 0.95
    assert 0.8 < np.linalg.norm(refined_probe) / np.linalg.norm(measured_probe) < 1.25


@pytest.mark.parametrize(
    "problem, fragment", [("missing", "does not exist"), ("no_origin", "missing origin")]
)
def test_a_bad_initial_object_is_one_line_and_exit_2(tmp_path, capsys, problem, fragment):
    train_file, _ = simulated_files()
    init = tmp_path / "init.npz"
    if problem == "no_origin":
        np.savez(init, object=np.ones((4, 4), np.complex64))
    status = main(
        [
            "reconstruct",
            "--data-file",
            str(train_file),
            "--output-dir",
            str(tmp_path / "o"),
            "--init",
            str(init),
            *QUIET,
        ]
    )
    err = capsys.readouterr().err
    assert status == 2 and fragment in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "reconstruction.npz").exists()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    train_file, _ = simulated_files()
    out = tmp_path_factory.mktemp("model")
    # a deliberately rough network (two steps, from the bare back-projection, no PIE steps), so
    # that the refinement has much to do
    assert (
        main(
            [
                "train",
                "--train-data-file",
                str(train_file),
                "--output-dir",
                str(out),
                "--nepochs",
                "1",
                "--n-groups",
                "16",
                "--batch-size",
                "8",
                "--estimate-iterations",
                "0",
                *QUIET,
            ]
        )
        == 0
    )
    return out


def test_refinement_after_the_network_lowers_the_nll_and_raises_ssim(bundle, tmp_path, capsys):
    train_file, _ = simulated_files()
    out = tmp_path / "refined"
    assert (
        main(
            [
                "infer",
                "--model-path",
                str(bundle),
                "--test-data-file",
                str(train_file),
                "--output-dir",
                str(out),
                "--refine-iterations",
                "30",
                "--refine-lr",
                "0.02",
                "--refine-batch-size",
                "16",
                *QUIET,
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "network only:" in printed and "after refinement:" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    solver = metrics["solver"]
    assert solver["start"] == "network" and solver["nll_after"] < solver["nll_before"]
    network = metrics["network_only"]
    for part in ("amplitude", "phase"):
        # at least half of the way from the network's SSIM to a perfect 1 (measured: amplitude
        # 0.74 → 0.93)
        before, after = network[part]["ssim"], metrics[part]["ssim"]
        assert after - before > 0.5 * (1 - before), (part, before, after)
    assert (out / "solver.json").is_file()


def test_infer_without_refinement_writes_no_solver_report(bundle, tmp_path):
    train_file, _ = simulated_files()
    out = tmp_path / "plain"
    assert (
        main(
            [
                "infer",
                "--model-path",
                str(bundle),
                "--test-data-file",
                str(train_file),
                "--output-dir",
                str(out),
                *QUIET,
            ]
        )
        == 0
    )
    assert not (out / "solver.json").exists()
    assert "network_only" not in json.loads((out / "metrics.json").read_text())


def test_a_refined_probe_reaches_the_ptychodus_product(bundle, tmp_path):
    from ptycho_engine.ptychodus import read_product

    train_file, _ = simulated_files()
    out, product = tmp_path / "refined", tmp_path / "product.h5"
    assert (
        main(
            [
                "infer",
                "--model-path",
                str(bundle),
                "--test-data-file",
                str(train_file),
                "--output-dir",
                str(out),
                "--refine-iterations",
                "2",
                "--refine-probe",
                "true",
                "--product",
                str(product),
                *QUIET,
            ]
        )
        == 0
    )
    with np.load(out / "reconstruction.npz") as result:
        np.testing.assert_array_equal(read_product(product).probe[0], result["probe"])


def test_overwriting_a_refined_result_removes_its_solver_report_and_stale_metrics(bundle, tmp_path):
    train_file, test_file = simulated_files()
    out = tmp_path / "result"
    common = ["infer", "--model-path", str(bundle), "--output-dir", str(out), *QUIET]
    assert main([*common, "--test-data-file", str(train_file), "--refine-iterations", "1"]) == 0
    assert (out / "solver.json").is_file() and (out / "metrics.json").is_file()
    # the same folder, replaced by a run on data without ground truth and without refinement
    import dataclasses

    from ptycho_engine.data.npz import load_diffraction, save_diffraction

    no_truth = tmp_path / "no_truth.npz"
    save_diffraction(no_truth, dataclasses.replace(load_diffraction(test_file), object=None))
    assert main([*common, "--test-data-file", str(no_truth), "--overwrite"]) == 0
    left = sorted(path.name for path in out.iterdir())
    # no truth: the coverage map instead of the metrics and comparison figures
    assert left == ["amplitude.png", "coverage.png", "phase.png", "reconstruction.npz"], left
