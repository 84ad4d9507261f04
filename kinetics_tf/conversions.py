"""TFLite and ONNX conversions of a released SavedModel, at one fixed clip shape.

  kinetics_tf.conversions.tflite('export/two_stream', 'two_stream.tflite', (251, 256, 340))
  kinetics_tf.conversions.onnx('export/rgb', 'rgb.onnx', (251, 256, 340))

Both convert the SavedModel's ``serving_default`` signature (the whole dense
protocol of Table 3: resize, crops, snapshots, the network, top-5) with the
inputs fixed at ``T`` frames of ``H x W`` (flow: ``T-1`` fields): TFLite's
builtin ops need no Flex delegate, and ONNX (``tf2onnx``, opset 17) runs in
``onnxruntime``.  The default ``T`` is the test footprint of the two streams
(§4.4, Table 3: 251 frames at 25 fps give the 250 flow fields of 25 stacks).
Measured parities are in docs/releasing_models.md.
"""

import tensorflow as tf

from kinetics_tf import errors
from kinetics_tf import release

# Table 3: 25 stacks of 10 flow fields over 10 s = 250 fields, 251 frames.
FOOTPRINT_FRAMES = 251
ONNX_OPSET = 17
_CHANNELS = {'frames': 3, 'flow': 2}


def fixed_function(path: str, shape: tuple[int, int, int]):
  """(tf.function of the SavedModel's signature at frames [T, H, W], the loaded object)."""
  num_frames, height, width = shape
  if min(shape) < 1 or num_frames < 2:
    raise errors.UserError(f'clip shape {list(shape)}: use T >= 2 frames of H x W >= 1 px')
  meta = release.read_metadata(path)
  loaded = tf.saved_model.load(path)
  signature = loaded.signatures[meta['signature']]
  names = list(meta['inputs'])
  specs = [tf.TensorSpec([num_frames - (n == 'flow'), height, width, _CHANNELS[n]],
                         tf.uint8, name=n) for n in names]
  fn = tf.function(lambda *x: signature(**dict(zip(names, x))), input_signature=specs)
  return fn, loaded, specs


def tflite(path: str, out_file: str, shape: tuple[int, int, int]) -> str:
  """Writes the TFLite model of the release at ``path`` for clips of ``shape`` = (T, H, W)."""
  fn, loaded, _ = fixed_function(path, shape)
  converter = tf.lite.TFLiteConverter.from_concrete_functions(
      [fn.get_concrete_function()], loaded)
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
  with open(out_file, 'wb') as f:
    f.write(converter.convert())
  return out_file


def onnx(path: str, out_file: str, shape: tuple[int, int, int]) -> str:
  """Writes the ONNX model of the release at ``path`` for clips of ``shape`` = (T, H, W).

  Raises:
    UserError: tf2onnx (or onnx) is not installed: pip install
      'kinetics-tf[onnx]'.
  """
  try:
    import tf2onnx  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise errors.UserError(f'ONNX conversion needs tf2onnx ({e}); pip install '
                           "'kinetics-tf[onnx]'") from e
  fn, _, specs = fixed_function(path, shape)
  _numpy2_aliases()
  tf2onnx.convert.from_function(fn, input_signature=specs, opset=ONNX_OPSET,
                                output_path=out_file)
  return out_file


def _numpy2_aliases() -> None:
  """tf2onnx 1.17 still reads np.object / np.bool / np.cast (removed in NumPy 2)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  for name, value in (('object', object), ('bool', bool)):
    if name not in np.__dict__:
      setattr(np, name, value)
