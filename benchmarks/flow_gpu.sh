#!/usr/bin/env bash
# One-shot accelerator check of the TensorFlow TV-L1 (flow/tvl1_tf.py), < 5 min:
# pairs/s at 340x256 in the fixed-budget mode for batches 16..128, peak device
# memory, and the parity check against OpenCV on the fixture clips.
#
#   KINETICS_TF_FIXTURES=../shared/fixtures bash benchmarks/flow_gpu.sh
#   bash benchmarks/flow_gpu.sh --smoke     # tiny sizes; runs on a CPU too
#   PYTHON=/path/to/venv/bin/python bash benchmarks/flow_gpu.sh   # that Python
#
# Needs a GPU build of TensorFlow for GPU figures; on a CPU it prints CPU ones.
set -euo pipefail
cd "$(dirname "$0")/.."

SMOKE=0
[[ "${1:-}" == "--smoke" ]] && SMOKE=1
export TF_CPP_MIN_LOG_LEVEL=2
# The Python with TensorFlow and this package: $PYTHON, else the first on PATH.
PYTHON="${PYTHON:-python}"

SMOKE=$SMOKE "$PYTHON" - <<'EOF'
import os, time
import numpy as np
import tensorflow as tf
from flow import tvl1_tf

smoke = os.environ['SMOKE'] == '1'
w, h = (64, 48) if smoke else (340, 256)
batches = (2, 4) if smoke else (16, 32, 64, 128)
gpus = tf.config.list_physical_devices('GPU')
device = 'GPU:0' if gpus else 'CPU:0'
print(f'device: {device} {gpus}; frames {w}x{h}; fixed budget '
      f'{tvl1_tf.fixed_iterations(h, w)} steps/warp')
rng = np.random.default_rng(0)
base = rng.integers(0, 256, (h + 8, w + 8)).astype(np.float32)
for batch in batches:
  # Smooth random textures shifted by sub-pixel-ish integer steps.
  a = np.stack([np.roll(base, i, 1)[:h, :w] for i in range(batch)])
  b = np.roll(a, 1, 2)
  a, b = a.astype(np.uint8), b.astype(np.uint8)
  with tf.device(device):
    if gpus:
      tf.config.experimental.reset_memory_stats(device)
    t0 = time.perf_counter()
    tvl1_tf.tvl1_pairs(a, b, stopping='fixed').numpy()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    flow = tvl1_tf.tvl1_pairs(a, b, stopping='fixed').numpy()
    sec = time.perf_counter() - t0
  assert flow.shape == (batch, h, w, 2) and np.isfinite(flow).all()
  peak = (tf.config.experimental.get_memory_info(device)['peak'] / 2**20
          if gpus else float('nan'))
  print(f'batch {batch:4d}: {batch / sec:8.1f} pairs/s  first call '
        f'{first:6.1f} s  peak memory {peak:8.0f} MiB', flush=True)
EOF

if [[ -n "${KINETICS_TF_FIXTURES:-}" ]]; then
  echo "parity with OpenCV on the fixture clips:"
  "$PYTHON" -m pytest -q -s tests/test_flow_tvl1_tf.py -k "real_clips" 2>&1 \
    | grep -E "real clips|passed|failed|error" || true
else
  echo "parity check skipped: set KINETICS_TF_FIXTURES to the fixtures folder"
fi
