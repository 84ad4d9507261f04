"""The TF TV-L1's warp against the installed OpenCV's, on real pairs.

OpenCV 5.0 samples cv::remap(INTER_CUBIC) at the exact position; 4.x first
rounds it to 1/32 pixel.  This prints, for the OpenCV that is installed, the
mean end-point distance between OpenCV's DualTVL1 flow and the TF port with
each warp (exact, and rounded as 4.x), and between the two TF warps.  Run it
once in each environment to compare the majors side by side:

  KINETICS_TF_FIXTURES=../shared/fixtures python benchmarks/opencv_versions.py
  python benchmarks/opencv_versions.py --npz=/tmp/ocv5.npz     # keep flows
  python benchmarks/opencv_versions.py --against=/tmp/ocv5.npz  # in the 4.x env
"""

import argparse
import os
import pathlib
import sys
import time

import cv2
import numpy as np

# benchmarks/flow.py is named like the package: drop this folder from the
# import path so that `import flow` finds the package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]

import flow  # pylint: disable=wrong-import-position
from flow import _tvl1_tf_ops as ops  # pylint: disable=wrong-import-position
from flow import tvl1_tf  # pylint: disable=wrong-import-position

CLIP = 'k400_arm_wrestling_340x256_28fps.mp4'


def _frames(count: int, size):
  videos = pathlib.Path(os.environ['KINETICS_TF_FIXTURES']) / 'videos'
  cap = cv2.VideoCapture(str(videos / CLIP))
  out = []
  while len(out) < count + 1:
    ok, frame = cap.read()
    if not ok:
      break
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    out.append(cv2.resize(gray, size, interpolation=cv2.INTER_AREA))
  return np.stack(out)


def _tf_flow(frames, subpixel_bits):
  """flow.tvl1(backend='tf') with the warp rounded to 2**-bits (or exact)."""
  exact = ops.remap_cubic
  ops.remap_cubic = lambda *a, **k: exact(*a, subpixel_bits=subpixel_bits)
  tvl1_tf._COMPILED.clear()  # pylint: disable=protected-access
  try:
    return flow.tvl1(frames, backend='tf')
  finally:
    ops.remap_cubic = exact
    tvl1_tf._COMPILED.clear()  # pylint: disable=protected-access


def _epd(a, b):
  return float(np.linalg.norm(a - b, axis=-1).mean())


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--pairs', type=int, default=4)
  parser.add_argument('--size', default='340x256', help='WxH')
  parser.add_argument('--npz', help='save the OpenCV flow here')
  parser.add_argument('--against', help='OpenCV flow of the other major')
  args = parser.parse_args(argv)
  size = tuple(int(v) for v in args.size.split('x'))
  frames = _frames(args.pairs, size)
  t0 = time.perf_counter()
  ocv = flow.tvl1(frames, backend='opencv')
  t_ocv = time.perf_counter() - t0
  exact = _tf_flow(frames, None)
  rounded = _tf_flow(frames, ops.OPENCV4_SUBPIXEL_BITS)
  print(f'OpenCV {cv2.__version__}; {len(ocv)} pairs at {args.size} of {CLIP} '
        f'(OpenCV {t_ocv / len(ocv):.2f} s/pair); mean end-point distance px:')
  print('| pair of flows | px |')
  print('|---|---|')
  print(f'| TF exact warp vs OpenCV {cv2.__version__} | {_epd(exact, ocv):.4f} |')
  print(f'| TF 1/32 px warp vs OpenCV {cv2.__version__} | '
        f'{_epd(rounded, ocv):.4f} |')
  print(f'| TF exact vs TF 1/32 px warp | {_epd(exact, rounded):.4f} |')
  if args.against:
    other = np.load(args.against)['flow']
    print(f'| OpenCV {cv2.__version__} vs {args.against} | '
          f'{_epd(ocv, other):.4f} |')
  if args.npz:
    np.savez(args.npz, flow=ocv)


if __name__ == '__main__':
  main()
