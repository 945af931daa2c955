"""The per-pattern physics estimate alone, stitched and scored, for each probe.

Run: ``python benchmarks/estimate.py [--probes disk,gaussian,zoneplate] [--iterations 0,5,20,50,100]
[--positions M] [--rpie A]``. Each pattern's object estimate (``network.estimate.PatternEstimate``:
back-projection and single-position PIE steps with the known probe, the input the CNN
corrects) is stitched with the probe-intensity weights and scored against the truth of a
simulated scan (N = 64, overlap 0.6, 1e6 photons). ``--rpie A`` also scores rPIE-regularised
steps (``conj(P)/((1−A)|P|² + A·max|P|²)``) beside the default ePIE step. It shows how far a
single pattern determines its patch: with a compact disk most of the way, with a soft
Gaussian or a defocused zone-plate beam not, whatever the number of steps.
"""

from __future__ import annotations

import argparse
import time

import torch
from scan_scores import SCORE_HEADER, quiet, score_cells

from ptycho_engine.data.npz import validate_arrays
from ptycho_engine.data.simulate import simulate
from ptycho_engine.metrics import evaluate_reconstruction
from ptycho_engine.network.estimate import PatternEstimate
from ptycho_engine.physics.canvas import Stitcher, canvas_frame
from ptycho_engine.physics.probe import prepare_probe, probe_weight
from ptycho_engine.physics.scaling import input_normalisation

N = 64


def _regularise(estimate: PatternEstimate, a: float) -> None:
    # the PIE step Ô ← keep·Ô + step·ψ' with rPIE's denominator instead of max|P|²
    power = estimate.probe.abs() ** 2
    denominator = (1 - a) * power + a * power.max()
    estimate.keep = 1 - power / denominator
    estimate.step = estimate.probe.conj() / denominator


def score(data, iterations: int, rpie: float | None) -> tuple[dict, float]:
    probe, _ = prepare_probe(data.probe, n=N, probe_scale=4.0, probe_mask=False)
    estimate = PatternEstimate(probe, iterations)
    if rpie is not None:
        _regularise(estimate, rpie)
    amplitudes = torch.from_numpy(data.diffraction * input_normalisation(data.diffraction))
    start = time.perf_counter()
    patches = estimate(amplitudes.float()[:, None])[:, 0]  # (M, N, N)
    seconds = time.perf_counter() - start
    origin, shape = canvas_frame(data.positions_xy, N)
    stitcher = Stitcher(shape, origin, probe_weight(probe))
    stitcher.add(patches, torch.from_numpy(data.positions_xy).float())
    obj, _ = stitcher.result()
    result = evaluate_reconstruction(
        obj.numpy(), data.object, origin=origin, positions_xy=data.positions_xy, patch_size=N
    )
    return result.to_dict(), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", default="disk,gaussian,zoneplate")
    parser.add_argument("--iterations", default="0,5,20,50,100")
    parser.add_argument("--positions", type=int, default=300)
    parser.add_argument("--rpie", type=float, default=None, metavar="A")
    args = parser.parse_args()
    quiet()
    steps = [None] if args.rpie is None else [None, args.rpie]
    print(f"N={N}, {args.positions} positions, overlap 0.6, 1e6 photons, "
          f"{torch.get_num_threads()} torch threads")  # fmt: skip
    print(f"{'probe':<11}{'steps':>6}{'step':>9}  {SCORE_HEADER}{'s':>7}")
    for probe in args.probes.split(","):
        data = validate_arrays(simulate(n=N, n_positions=args.positions, probe_source=probe,
                                        overlap=0.6, nphotons=1e6, seed=1))  # fmt: skip
        for iterations in (int(text) for text in args.iterations.split(",")):
            for rpie in steps:
                scores, seconds = score(data, iterations, rpie)
                step = "ePIE" if rpie is None else f"rPIE {rpie:g}"
                print(f"{probe:<11}{iterations:>6}{step:>9}  {score_cells(scores)}{seconds:>7.2f}")


if __name__ == "__main__":
    main()
