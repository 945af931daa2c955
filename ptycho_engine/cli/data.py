"""``ptycho data check`` and ``ptycho data convert``: inspect and canonicalise data files.

Engine modules (numpy, scipy) are imported inside the handlers so that building the parser
stays cheap. Problems with the data raise ``DataError``; ``ptycho_engine.cli`` prints them.
"""

from __future__ import annotations

import argparse
import json

from ptycho_engine.cli.console import add_console_flags, configure_console, require_engine
from ptycho_engine.errors import DataError


def register(subparsers) -> None:
    """Add the ``data`` subcommand and its ``check`` and ``convert`` actions."""
    data = subparsers.add_parser(
        "data",
        help="inspect and convert diffraction data files (NPZ, HDF5/NeXus)",
        description="Inspect and convert diffraction data files; see docs/data.md.",
    )
    actions = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    check = actions.add_parser(
        "check",
        help="validate a data file and print a summary",
        description="Validate FILE against the data contract and summarise it. "
        "Exit status 0 if valid, 2 if not.",
    )
    check.add_argument("file", metavar="FILE", help="the .npz or HDF5 (.h5, .nxs, .cxi) file")
    _add_layout_flags(check)
    _add_hdf5_flags(check)
    check.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_console_flags(check)
    check.set_defaults(handler=run_check)

    convert = actions.add_parser(
        "convert",
        help="write a data file in canonical form",
        description="Read IN (optionally counts and/or zero frequency at the corner) and write "
        "OUT as amplitudes with the zero frequency at the centre, optionally with the probe and "
        "positions of a Ptychodus product file. IN may be HDF5: its datasets are named with "
        "the flags below or found in a NeXus NXcxi_ptycho entry, and its frames are converted "
        "in blocks. OUT is written atomically.",
    )
    convert.add_argument(
        "input", metavar="IN", help="the .npz or HDF5 (.h5, .hdf5, .nxs, .cxi) file to read"
    )
    convert.add_argument("output", metavar="OUT", help="the .npz file to write")
    _add_layout_flags(convert)
    probe = _add_hdf5_flags(convert)
    probe.add_argument(
        "--probe-from", metavar="PRODUCT.h5", help="take the probe from a Ptychodus product file"
    )
    convert.add_argument(
        "--positions-from",
        metavar="PRODUCT.h5",
        help="take the scan positions from a Ptychodus product file (metres "
        "converted to pixels of its object; one per pattern, in order)",
    )
    convert.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    add_console_flags(convert)
    convert.set_defaults(handler=run_convert)


def _add_layout_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--counts",
        action="store_true",
        help="the file stores photon counts, not amplitudes (their square root is taken)",
    )
    parser.add_argument(
        "--dc-corner",
        action="store_true",
        help="the file has the zero frequency at pixel (0, 0), not at the centre",
    )


def _add_hdf5_flags(parser: argparse.ArgumentParser):
    """Add the flags naming the datasets of an HDF5 input; return the group holding --probe."""
    group = parser.add_argument_group(
        "HDF5 input",
        "dataset paths inside an HDF5 file; those not given are looked for in a NeXus "
        "NXcxi_ptycho entry (entry_1/data_1/data, entry_1/sample_1/geometry_1/translation, "
        "entry_1/instrument_1/detector_1/probe, ...; see docs/data.md)",
    )
    group.add_argument(
        "--diffraction",
        metavar="PATH",
        help="the frames (M, N, N), or a raster's (rows, columns, N, N)",
    )
    group.add_argument("--x", metavar="PATH", help="the x positions (M,), along the columns")
    group.add_argument("--y", metavar="PATH", help="the y positions (M,), along the rows")
    group.add_argument("--object", metavar="PATH", help="the object (H, W), optional")
    group.add_argument(
        "--pixel-size",
        metavar="METRES",
        type=float,
        help="object pixel size for positions in metres (default: from the file's detector "
        "pixel size, distance and energy, λz/(N·dx))",
    )
    group.add_argument(
        "--positions-unit",
        choices=("m", "px"),
        help="unit of the positions (default: their units attribute; metres for NeXus)",
    )
    probe = group.add_mutually_exclusive_group()
    probe.add_argument("--probe", metavar="PATH", help="the probe (N, N) or modes (P, N, N)")
    return probe


_HDF5_FLAGS = ("diffraction", "x", "y", "probe", "object", "pixel_size", "positions_unit")


def hdf5_layout(args: argparse.Namespace, path: str):
    """The ``Hdf5Layout`` of the flags, or None when none was given."""
    given = {name: getattr(args, name, None) for name in _HDF5_FLAGS}
    if all(value is None for value in given.values()):
        return None
    from ptycho_engine.data.hdf5 import Hdf5Layout  # h5py and numpy once the flags parse

    if path.lower().endswith(".npz"):
        used = ", ".join(
            f"--{name.replace('_', '-')}" for name, v in given.items() if v is not None
        )
        raise DataError(f"{path}: {used} name datasets of an HDF5 file; this is an .npz file")
    given["pixel_size_m"] = given.pop("pixel_size")
    return Hdf5Layout(**given)


def run_check(args: argparse.Namespace) -> int:
    """Validate and summarise ``args.file``; print text or JSON; return 0."""
    configure_console(args)
    require_engine(lightning=False)
    from ptycho_engine.data.summary import check_file  # numpy and scipy once the flags parse

    layout = hdf5_layout(args, args.file)
    summary = check_file(args.file, counts=args.counts, dc_corner=args.dc_corner, layout=layout)
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
    else:
        print(format_summary(summary))
    return 0


def run_convert(args: argparse.Namespace) -> int:
    """Write ``args.input`` in canonical form to ``args.output``; print the steps; return 0."""
    configure_console(args)
    require_engine(lightning=False)
    layout = hdf5_layout(args, args.input)
    # numpy, scipy and h5py once the flags parse
    from ptycho_engine.ptychodus.convert import convert_with_product

    report = convert_with_product(
        args.input,
        args.output,
        counts=args.counts,
        dc_corner=args.dc_corner,
        overwrite=args.overwrite,
        probe_from=args.probe_from,
        positions_from=args.positions_from,
        layout=layout,
    )
    for note in report.skipped:
        print(f"warning: {note}")
    if not args.quiet:
        print(f"read {report.source}")
        for step in report.steps:
            print(f"  {step}")
    data = report.data
    print(
        f"wrote {report.destination}: {data.n_positions} frames of {data.N}x{data.N}, "
        f"{data.n_modes} probe mode(s), amplitude with zero frequency at the centre"
    )
    return 0


def format_summary(summary) -> str:
    """Return the readable report of a ``DataSummary`` printed by ``ptycho data check``."""
    x0, x1 = summary.x_range_px
    y0, y1 = summary.y_range_px
    lines = [f"file:              {summary.source}"]
    lines += [f"read:              {step}" for step in summary.read_steps]
    lines += [
        f"frames (M):        {summary.n_positions}",
        f"pattern size (N):  {summary.N}",
        f"probe modes:       {summary.n_modes}",
        f"photons per frame: mean {summary.photons_mean:.4g}, min {summary.photons_min:.4g}, "
        f"max {summary.photons_max:.4g} (sum of amplitude²: photon counts only if the file "
        "stores √counts)",
    ]
    if summary.nphotons_metadata is not None:
        lines.append(f"nphotons (metadata): {summary.nphotons_metadata:.4g}")
    shape = summary.object_shape
    object_text = "none" if shape is None else f"{shape[0]} x {shape[1]}"
    lines += [
        f"scan extent:       x {x0:.1f} .. {x1:.1f} px (width {x1 - x0:.1f}), "
        f"y {y0:.1f} .. {y1:.1f} px (height {y1 - y0:.1f})",
        f"mean step:         {_number(summary.mean_step_px, ' px')} (to the nearest neighbour)",
        f"probe diameter:    {summary.probe_diameter_px:.1f} px (2·sqrt(2<r²>) of the "
        "intensity: a flat disc's diameter)",
        f"linear overlap:    {_number(summary.linear_overlap, '')} (1 - step / probe diameter)",
        f"objectGuess:       {object_text}",
    ]
    lines += [f"warning: {note}" for note in summary.warnings]
    if not summary.warnings:
        lines.append("valid: no warnings")
    return "\n".join(lines)


def _number(value: float | None, unit: str) -> str:
    return "n/a" if value is None else f"{value:.2f}{unit}"
