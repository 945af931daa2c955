"""Text summaries of ``metrics.json`` for the console (inference and the solver print them)."""

from __future__ import annotations

import json


def format_metrics(metrics: dict) -> str:
    """Return the amplitude/phase summary of ``metrics.json``: two lines, and the FRC."""
    lines = []
    for part in ("amplitude", "phase"):
        scores = metrics[part]
        psnr = scores["psnr_db"]
        lines.append(
            f"{part:<9}  SSIM {scores['ssim']:.3f}  PSNR {psnr:.2f} dB  MAE {scores['mae']:.4f}"
            if psnr is not None
            else f"{part:<9}  {json.dumps(scores)}"
        )
    frc = metrics.get("frc", {})
    if frc:
        parts = [
            f"{name}: {entry['resolution_px']:.2f} px"
            for name, entry in frc.items()
            if isinstance(entry, dict) and "resolution_px" in entry
        ]
        lines.append("FRC resolution  " + ", ".join(parts))
    return "\n".join(lines)
