#!/usr/bin/env bash
# GPU figures, to run on a machine with a CUDA GPU (e.g. when a device machine is lent):
#   bash benchmarks/gpu.sh
# 1. predict-only patterns/s at N = 64 (target >= 20,000 on one H200-class GPU),
# 2. the end-to-end throughput table at GPU sizes (training groups/s, inference patterns/s,
#    stitching share, peak CUDA memory), in float32 and in bf16-mixed,
# 3. the forward-model benchmark on the GPU,
# 4. the network against the iterative solver on a 5000-position scan.
set -euo pipefail
cd "$(dirname "$0")/.."
python - <<'PY'
import time, torch
from ptycho_engine.network.fold import fold_batch_norms
from ptycho_engine.pinn import Pinn
from ptycho_settings import ModelConfig, TrainingConfig
assert torch.cuda.is_available(), "no CUDA device visible"
for gridsize in (1, 2):
    model = ModelConfig(N=64, gridsize=gridsize)
    module = Pinn(model, TrainingConfig(model=model), torch.ones(1, 64, 64, dtype=torch.complex64), 10.0)
    module = fold_batch_norms(module.cuda())  # as reconstruct predicts
    for batch in (256, 1024):
        x = torch.rand(batch, model.C, 64, 64, device="cuda")
        with torch.no_grad():
            for _ in range(3):
                module(x)
            torch.cuda.synchronize()
            start, repeats = time.perf_counter(), 20
            for _ in range(repeats):
                module(x)
            torch.cuda.synchronize()
        rate = repeats * batch * model.C / (time.perf_counter() - start)
        print(f"predict-only N=64 gridsize {gridsize} batch {batch}: {rate:,.0f} patterns/s")
PY
python benchmarks/throughput.py --device cuda --sizes gpu
python benchmarks/throughput.py --device cuda --sizes gpu --precision bf16-mixed
python benchmarks/forward.py --device cuda
python benchmarks/iterative.py --device cuda --positions 5000 --epochs 5 --refine-iterations 20
