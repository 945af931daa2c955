"""Forward model + Poisson loss throughput, against a bare FFT of the same batch.

Run: ``python benchmarks/forward.py [--device cpu|cuda] [--batch 256] [--repeats 20]``.

For N = 64 and 128, gridsize 1 and 2 (gridsize 2 goes through the object_big merge and
re-extraction), it times on one fixed batch of ``--batch`` patterns (``batch / gridsize**2``
groups), after warm-up, the median of ``--repeats`` runs of:

- ``fft``: ``torch.fft.fft2`` of ``batch`` complex N×N arrays (the floor any far-field model pays);
- ``fwd+loss``: ``forward_amplitude`` then ``poisson_nll``, without autograd;
- ``fwd+bwd``: the same with autograd, plus ``backward()`` to the object patches.

and prints patterns/s and the ratio to the bare FFT (target: fwd+loss >= 0.3 of the FFT).
The three steps take turns within each repeat, so load from other processes affects all of
them alike. ``torch.set_num_threads`` is left at its default unless ``--threads`` is given.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from ptycho_engine.conventions import channels
from ptycho_engine.physics.forward import forward_amplitude
from ptycho_engine.physics.losses import poisson_nll
from ptycho_engine.physics.probe import normalise_probe, soft_disk_mask
from ptycho_engine.physics.scaling import photon_scale

TARGET_RATIO = 0.3


def _timed(step, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def _interleaved_seconds(steps: dict, device: torch.device, repeats: int, warmup: int = 3) -> dict:
    """Median seconds of each step; the steps take turns so load from other processes hits all."""
    for _ in range(warmup):
        for step in steps.values():
            step()
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            times[name].append(_timed(step, device))
    return {name: statistics.median(values) for name, values in times.items()}


def _inputs(n: int, gridsize: int, batch: int, device: torch.device):
    gen = torch.Generator().manual_seed(0)
    c = channels(gridsize)
    groups = batch // c
    patches = torch.polar(
        0.5 + 0.5 * torch.rand(groups, c, n, n, generator=gen),
        torch.rand(groups, c, n, n, generator=gen) * 2 - 1,
    )  # (B, C, N, N)
    coord = torch.arange(n) - n // 2
    r2 = coord[:, None] ** 2 + coord[None, :] ** 2
    probe, _ = normalise_probe(soft_disk_mask(n) * torch.exp(1j * 3.0 * r2 / (n / 4) ** 2))
    measured = torch.rand(groups, c, n, n, generator=gen)  # (B, C, N, N)
    offsets = None
    if gridsize > 1:  # a jittered 2x2 raster with a step of 0.15 N, as K-NN groups give
        step = 0.15 * n
        grid = torch.tensor(
            [[x, y] for y in range(gridsize) for x in range(gridsize)], dtype=torch.float32
        )  # (C, 2)
        positions = grid * step + torch.rand(groups, c, 2, generator=gen) * 0.4 * step  # (B, C, 2)
        offsets = (positions - positions.mean(dim=1, keepdim=True)).to(device)
    return patches.to(device), probe[None].to(device), measured.to(device), offsets


def _bench_case(n: int, gridsize: int, batch: int, device: torch.device, repeats: int) -> dict:
    patches, probe, measured, offsets = _inputs(n, gridsize, batch, device)
    scale = photon_scale(1e6, n)
    fft_input = patches.reshape(-1, n, n).clone()  # (batch, N, N), the same arrays

    def fft_only():
        torch.fft.fft2(fft_input)

    def forward_loss():
        with torch.no_grad():
            poisson_nll(forward_amplitude(patches, probe, offsets=offsets), measured, scale)

    leaf = patches.clone().requires_grad_()

    def forward_backward():
        leaf.grad = None
        poisson_nll(forward_amplitude(leaf, probe, offsets=offsets), measured, scale).backward()

    steps = {"fft": fft_only, "fwd+loss": forward_loss, "fwd+bwd": forward_backward}
    seconds = _interleaved_seconds(steps, device, repeats)
    return {"N": n, "gridsize": gridsize, **{name: batch / t for name, t in seconds.items()}}


def main() -> None:
    """Run every case and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=256, help="patterns per batch")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads (default: leave torch's default)",
    )
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(
        f"device={device} threads={torch.get_num_threads()} batch={args.batch} patterns, "
        f"median of {args.repeats}; rates in patterns/s"
    )
    columns = ("fft", "fwd+loss", "fwd+bwd", "ratio fwd", "ratio f+b")
    header = f"{'N':>4} {'gs':>3} " + " ".join(f"{c:>10}" for c in columns)
    print(header)
    print("-" * len(header))
    for n in (64, 128):
        for gridsize in (1, 2):
            r = _bench_case(n, gridsize, args.batch, device, args.repeats)
            fwd, both = r["fwd+loss"] / r["fft"], r["fwd+bwd"] / r["fft"]
            flag = "" if fwd >= TARGET_RATIO else "  < target"
            rates = " ".join(f"{r[c]:>10.0f}" for c in columns[:3])
            print(f"{n:>4} {gridsize:>3} {rates} {fwd:>10.2f} {both:>10.2f}{flag}")


if __name__ == "__main__":
    main()
