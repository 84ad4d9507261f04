#!/usr/bin/env bash
# One run on an accelerator machine, meant to take under 8 minutes (not yet
# timed on one): every GPU figure the project needs, the dearest stage of a
# Kinetics build first.
#
#   1. TV-L1 on the device: pairs/s of the solver alone per batch size at
#      340x256, parity with OpenCV's CPU flow, the whole preparation stage
#      with the host's cores, and what the host can feed a device
#      (benchmarks/prepare_device.py), when KINETICS_TF_FIXTURES names the
#      fixtures;
#   2. training examples/s of each model at its paper input (Table 3, §4.4)
#      with mixed precision, without and with XLA;
#   3. the training input pipeline's examples/s with all the host's cores
#      (benchmarks/input.py --threads 0, lossless flow, TFDS auto-cache off),
#      when KINETICS_TF_FIXTURES names the fixtures.
#
#   KINETICS_TF_FIXTURES=../shared/fixtures bash benchmarks/gpu.sh
#   bash benchmarks/gpu.sh --smoke     # tiny sizes; runs on a CPU too
#   PYTHON=/path/to/venv/bin/python bash benchmarks/gpu.sh   # that Python
#
# Needs a GPU build of TensorFlow for GPU figures; on a CPU it prints CPU ones.
set -euo pipefail
cd "$(dirname "$0")/.."

SMOKE=0
[[ "${1:-}" == "--smoke" ]] && SMOKE=1
export TF_CPP_MIN_LOG_LEVEL=2
# The Python with TensorFlow and this package: $PYTHON, else the first on PATH.
PYTHON="${PYTHON:-python}"
export PYTHON

echo "== 1. TV-L1 on the device and the whole preparation stage (benchmarks/prepare_device.py)"
# The solver alone per batch size at 340x256, parity of the fixed budgets
# with OpenCV's CPU flow, and the stage (kinetics-tf prepare --devices) on
# copies of the fixture Kinetics clip with the host's cores.
if [[ -n "${KINETICS_TF_FIXTURES:-}" ]]; then
  if [[ $SMOKE == 1 ]]; then
    "$PYTHON" benchmarks/prepare_device.py --smoke
  else
    "$PYTHON" benchmarks/prepare_device.py
  fi
else
  echo "TV-L1 section skipped: set KINETICS_TF_FIXTURES to the fixtures folder"
fi

echo "== 2. models: training examples/s, mixed precision ($SECONDS s so far)"
SMOKE=$SMOKE "$PYTHON" - <<'PY'
import os, sys, time
sys.path[:] = [p for p in sys.path if not p.endswith('benchmarks')]
import numpy as np
import keras
import tensorflow as tf
from kinetics_tf import constants, models

smoke = os.environ['SMOKE'] == '1'
gpus = tf.config.list_physical_devices('GPU')
print(f'device: {"GPU:0" if gpus else "CPU:0"} {gpus}; TensorFlow '
      f'{tf.__version__}')
crop, c3d_crop = (32, 32) if smoke else (constants.RESNET_CROP,
                                          constants.C3D_CROP)
width = 1 / 16 if smoke else 1.0
batch = 2 if smoke else 32
steps = 2 if smoke else 10
lstm_frames = 4 if smoke else constants.TRAIN_FOOTPRINTS['convnet_lstm'].num_frames
c3d_frames = constants.TRAIN_FOOTPRINTS['c3d'].num_frames
paper = {
    'rgb': (lambda: models.rgb_stream(input_size=crop, width_multiplier=width),
            (crop, crop, 3), batch),
    'flow': (lambda: models.flow_stream(input_size=crop, width_multiplier=width),
             (crop, crop, constants.FLOW_CHANNELS), batch),
    'convnet_lstm': (lambda: models.ConvNetLSTM(
        input_size=crop, num_frames=lstm_frames, width_multiplier=width),
                     (lstm_frames, crop, crop, 3), max(1, batch // 8)),
    'c3d': (lambda: models.C3D(input_size=c3d_crop, width_multiplier=width),
            (c3d_frames, c3d_crop, c3d_crop, 3), max(1, batch // 2)),
}
# --smoke: the script's paths in little time (ResNet with and without XLA,
# C3D without), not figures.
runs = ({'rgb': (False, True), 'c3d': (False,)} if smoke else
        {name: (False, True) for name in paper})
keras.mixed_precision.set_global_policy('mixed_float16')
print('| model | input | batch | XLA | train ex/s | first step s |')
print('|---|---|---|---|---|---|')
for name, jits in runs.items():
  build, shape, b = paper[name]
  for jit in jits:
    keras.backend.clear_session()
    model = build()
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(
                      from_logits=True), jit_compile=jit)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (b,) + shape).astype('float32')
    y = rng.integers(0, constants.NUM_CLASSES, b)
    t0 = time.perf_counter()
    model.train_on_batch(x, y)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
      loss = model.train_on_batch(x, y)
    rate = b * steps / (time.perf_counter() - t0)
    assert np.isfinite(np.asarray(loss, dtype=np.float64)).all(), name
    print(f'| {name} | {"x".join(map(str, shape))} | {b} | {jit} | '
          f'{rate:.1f} | {first:.1f} |', flush=True)
PY

echo "== 3. input pipeline: training examples/s with all the host's cores ($SECONDS s so far)"
if [[ -n "${KINETICS_TF_FIXTURES:-}" ]]; then
  if [[ $SMOKE == 1 ]]; then
    CACHE="$(mktemp -d)"
    trap 'rm -rf "$CACHE"' EXIT
    SIZES=(--short_side 40 --c3d_side 32 --crop 32 --c3d_crop 24 --seconds 1
           --examples 3 --models flow --cache_dir "$CACHE")
  else
    SIZES=(--examples 64)
  fi
  "$PYTHON" benchmarks/input.py --threads 0 --modes train --layouts png \
    --k 8 "${SIZES[@]}" | grep -E "^(machine|clip|\||train:|  )" || true
else
  echo "input pipeline skipped: set KINETICS_TF_FIXTURES to the fixtures folder"
fi

echo "gpu.sh: done in ${SECONDS} s"
