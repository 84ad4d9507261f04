r"""TV-L1 throughput: OpenCV's DualTVL1 vs the TensorFlow/XLA backend, one run.

Every figure comes from the same consecutive pairs of the fixture Kinetics
clip, resized to --size, for both backends.  Sections (all by default):

  threads  pairs/s per process at each thread count (one process at a time):
           OpenCV, then flow.tvl1_tf with OpenCV's stopping rule and with the
           fixed budget at each batch size.  Compile time apart.
  procs    one single-threaded process per core, all at once (a start
           barrier after compiling): the machine's throughput, per backend.
  step     one primal-dual step at --size, the solver's kernel-friendly
           formulation (flow.tvl1_tf._step) against the plain one it
           replaced, interleaved.
  sizes    seconds per pair at several frame sizes, one thread, with the
           compile time: where the TF backend starts to pay
           (flow.backends.choose_backend uses the crossover).

  KINETICS_TF_FIXTURES=../shared/fixtures python benchmarks/flow_tf.py
  python benchmarks/flow_tf.py --sections procs --pairs 8

The machine may be shared: compare figures of one run only.
"""

import argparse
import json
import multiprocessing
import os
import pathlib
import sys
import time

CLIP = 'videos/k400_arm_wrestling_340x256_28fps.mp4'
SECTIONS = ('threads', 'procs', 'step', 'sizes')

# benchmarks/flow.py would shadow the `flow` package when run as a script.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))


def _frames(count: int, size):
  """`count` gray frames of the fixture clip, resized to size (W, H)."""
  import cv2  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  path = pathlib.Path(os.environ.get('KINETICS_TF_FIXTURES',
                                     '../shared/fixtures')) / CLIP
  cap = cv2.VideoCapture(str(path))
  frames = []
  while len(frames) < count:
    ok, bgr = cap.read()
    if not ok:
      raise SystemExit(f'{path}: could not read {count} frames; set '
                       'KINETICS_TF_FIXTURES to the fixtures folder.')
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    frames.append(cv2.resize(gray, size, interpolation=cv2.INTER_AREA))
  return np.stack(frames)


def _setup(threads: int):
  """Pins TF's and OpenCV's thread pools; must run before TF does work."""
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  import cv2  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  tf.config.threading.set_intra_op_parallelism_threads(threads)
  tf.config.threading.set_inter_op_parallelism_threads(1)
  cv2.setNumThreads(threads)


def _opencv_seconds(frames) -> float:
  import cv2  # pylint: disable=import-outside-toplevel
  algo = cv2.optflow.DualTVL1OpticalFlow_create()
  start = time.perf_counter()
  for a, b in zip(frames[:-1], frames[1:]):
    algo.calc(a, b, None)
  return time.perf_counter() - start


def _tf_run(frames, stopping: str, batch: int):
  """(compile s, run s, mean steps/pair) of flow.tvl1_tf over all pairs.

  The pairs are run in batches of `batch`; give a multiple of it.
  """
  import numpy as np  # pylint: disable=import-outside-toplevel
  from flow import tvl1_tf  # pylint: disable=import-outside-toplevel
  pairs = len(frames) - 1
  if pairs % batch:
    raise ValueError(f'{pairs} pairs do not make batches of {batch}')
  start = time.perf_counter()
  tvl1_tf.tvl1_pairs(frames[:batch], frames[1:batch + 1],
                     stopping=stopping).numpy()
  compile_s = time.perf_counter() - start
  steps = []
  start = time.perf_counter()
  for first in range(0, pairs, batch):
    _, n = tvl1_tf.tvl1_pairs(frames[first:first + batch],
                              frames[first + 1:first + batch + 1],
                              stopping=stopping, return_steps=True)
    steps += list(n.numpy())
  return compile_s, time.perf_counter() - start, float(np.mean(steps))


def _threads_worker(args) -> dict:
  """One thread count: OpenCV on --pairs pairs; TF at each batch size on the
  same pairs, or on the first ceil(pairs / batch) * batch if it does not
  divide them (the table's `pairs` column)."""
  _setup(args.worker)
  batches = [int(b) for b in args.batches.split(',')]
  most = max(-(-args.pairs // b) * b for b in batches)
  frames = _frames(max(most, args.pairs) + 1, args.size)
  rows = [dict(backend='opencv', batch=1, pairs=args.pairs,
               pairs_s=args.pairs / _opencv_seconds(frames[:args.pairs + 1]))]
  for stopping in ('opencv', 'fixed'):
    for batch in batches:
      pairs = -(-args.pairs // batch) * batch
      compile_s, seconds, steps = _tf_run(frames[:pairs + 1], stopping, batch)
      rows.append(dict(backend=f'tf/{stopping}', batch=batch, pairs=pairs,
                       pairs_s=pairs / seconds, compile_s=compile_s,
                       steps=steps))
  return dict(threads=args.worker, rows=rows)


def _proc_worker(backend, frames, barrier, queue) -> None:
  """One single-threaded process of the `procs` section."""
  _setup(1)
  if backend != 'opencv':
    _tf_run(frames[:2], backend.split('/')[1], 1)  # Compile first.
  barrier.wait()
  if backend == 'opencv':
    seconds = _opencv_seconds(frames)
  else:
    seconds = _tf_run(frames, backend.split('/')[1], 1)[1]
  queue.put((len(frames) - 1, seconds))


def _procs(args) -> list:
  procs = args.procs or os.cpu_count()
  frames = _frames(args.pairs * procs + 1, args.size)
  ctx = multiprocessing.get_context('spawn')
  rows = []
  for backend in ('opencv', 'tf/opencv', 'tf/fixed'):
    barrier, queue = ctx.Barrier(procs), ctx.Queue()
    workers = [ctx.Process(target=_proc_worker, args=(
        backend, frames[i * args.pairs:(i + 1) * args.pairs + 1], barrier,
        queue)) for i in range(procs)]
    for w in workers:
      w.start()
    done = [queue.get() for _ in workers]
    for w in workers:
      w.join()
    total = sum(n for n, _ in done)
    rows.append(dict(backend=backend, procs=procs,
                     pairs_s=total / max(s for _, s in done),
                     per_proc=[round(n / s, 3) for n, s in done]))
    print(f'procs: {backend} done', file=sys.stderr, flush=True)
  return rows


def _plain_step(c, i1wx, i1wy, grad, rho_c, u1, u2, p):
  """The step as first written: shared residual and norms (14 kernels)."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from flow import _tvl1_tf_ops as ops  # pylint: disable=import-outside-toplevel
  tau, lam, theta = c[0], c[1], c[2]
  l_t, taut = lam * theta, tau / theta
  rho = rho_c + i1wx * u1 + i1wy * u2
  fi = tf.where(rho < -l_t * grad, l_t,
                tf.where(rho > l_t * grad, -l_t,
                         tf.where(grad > np.finfo(np.float32).eps,
                                  -rho / tf.maximum(grad, 1e-30), 0.0)))
  n1 = u1 + fi * i1wx + theta * ops.divergence(p[0], p[1])
  n2 = u2 + fi * i1wy + theta * ops.divergence(p[2], p[3])
  change = tf.reduce_sum(tf.square(n1 - u1) + tf.square(n2 - u2), [1, 2])
  u1x, u1y = ops.forward_gradient(n1)
  u2x, u2y = ops.forward_gradient(n2)
  ng1 = 1.0 + taut * tf.sqrt(u1x * u1x + u1y * u1y)
  ng2 = 1.0 + taut * tf.sqrt(u2x * u2x + u2y * u2y)
  p = ((p[0] + taut * u1x) / ng1, (p[1] + taut * u1y) / ng1,
       (p[2] + taut * u2x) / ng2, (p[3] + taut * u2y) / ng2)
  return n1, n2, p, change


def _step(args) -> list:
  """ms per primal-dual step, both formulations, 200-step loops."""
  _setup(1)
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from flow import tvl1_tf  # pylint: disable=import-outside-toplevel
  width, height = args.size
  steps = 200
  rng = np.random.default_rng(0)
  data = [tf.constant(rng.normal(size=(1, height, width)), tf.float32)
          for _ in range(3)]
  data.insert(2, data[0] * data[0] + data[1] * data[1])  # grad
  c = (0.25, 0.15, 0.3)

  def compiled(step_fn):
    def loop(u1, u2, *p):
      def body(n, u1, u2, p, acc):
        u1, u2, p, change = step_fn(c, *data, u1, u2, p)
        return n + 1, u1, u2, p, acc + change
      return tf.while_loop(lambda n, *_: n < steps, body,
                           (0, u1, u2, p, tf.zeros([1])))
    return tf.function(loop, jit_compile=True, autograph=False)

  zeros = (tf.zeros([1, height, width]),) * 6
  fns = {'plain': compiled(_plain_step), 'solver': compiled(tvl1_tf._step)}  # pylint: disable=protected-access
  outs = {k: f(*zeros) for k, f in fns.items()}
  diff = float(tf.reduce_max(tf.abs(outs['plain'][1] - outs['solver'][1])))
  best = dict.fromkeys(fns, float('inf'))
  for _ in range(8):
    for name, fn in fns.items():
      start = time.perf_counter()
      fn(*zeros)[1].numpy()
      best[name] = min(best[name], time.perf_counter() - start)
  return [dict(formulation=k, ms=v / steps * 1e3, max_diff=diff)
          for k, v in best.items()]


def _sizes(args) -> list:
  """s/pair for OpenCV and TF (OpenCV's rule) at several sizes, 1 thread."""
  _setup(1)
  rows = []
  for size in args.sweep.split(','):
    wh = tuple(int(v) for v in size.split('x'))
    frames = _frames(args.pairs + 1, wh)
    cv_s = _opencv_seconds(frames) / args.pairs
    compile_s, seconds, _ = _tf_run(frames, 'opencv', 1)
    rows.append(dict(size=size, opencv_s=cv_s, tf_s=seconds / args.pairs,
                     compile_s=compile_s))
    print(f'sizes: {size} done', file=sys.stderr, flush=True)
  return rows


def _threads_table(results) -> str:
  lines = ['| threads | backend | batch | pairs | pairs/s | x OpenCV '
           '| steps/pair | first call (compile) s |',
           '|---|---|---|---|---|---|---|---|']
  for res in results:
    base = res['rows'][0]['pairs_s']
    for r in res['rows']:
      lines.append(
          f"| {res['threads']} | {r['backend']} | {r['batch']} | "
          f"{r['pairs']} | {r['pairs_s']:.2f} | {r['pairs_s'] / base:.2f} | "
          f"{r.get('steps', float('nan')):.0f} | "
          f"{r.get('compile_s', float('nan')):.1f} |")
  return '\n'.join(lines)


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--sections', default=','.join(SECTIONS))
  parser.add_argument('--threads', default='1,2')
  parser.add_argument('--batches', default='1,4,16')
  parser.add_argument('--pairs', type=int, default=8,
                      help='pairs per measurement (per process in procs)')
  parser.add_argument('--procs', type=int, default=0,
                      help='processes in the procs section (default: cores)')
  parser.add_argument('--size', default='340x256', help='WxH')
  parser.add_argument('--sweep', default='64x48,128x96,170x128,340x256',
                      help='WxH list of the sizes section')
  parser.add_argument('--worker', type=int, default=0, help=argparse.SUPPRESS)
  args = parser.parse_args(argv)
  args.size = tuple(int(v) for v in args.size.split('x'))
  if args.worker:
    print(json.dumps(_threads_worker(args)))
    return
  sections = args.sections.split(',')
  unknown = set(sections) - set(SECTIONS)
  if unknown:
    raise SystemExit(f'unknown sections {sorted(unknown)}; use {SECTIONS}')
  size = f'{args.size[0]}x{args.size[1]}'
  print(f'TV-L1, {args.pairs} consecutive pairs of {CLIP} at {size}; '
        f'{os.cpu_count()} cores')
  if 'threads' in sections:
    import subprocess  # pylint: disable=import-outside-toplevel
    results = []
    for threads in [int(t) for t in args.threads.split(',')]:
      cmd = [sys.executable, __file__, '--worker', str(threads), '--batches',
             args.batches, '--pairs', str(args.pairs), '--size', size]
      out = subprocess.run(cmd, check=True, capture_output=True,
                           text=True).stdout
      results.append(json.loads(out.strip().splitlines()[-1]))
      print(f'threads={threads} done', file=sys.stderr, flush=True)
    print('\npairs/s, one process at a time:')
    print(_threads_table(results))
  if 'procs' in sections:
    rows = _procs(args)
    print(f'\none single-threaded process per core ({rows[0]["procs"]}), '
          'all at once:')
    print('| backend | pairs/s (machine) | x OpenCV | per process |')
    print('|---|---|---|---|')
    for r in rows:
      print(f"| {r['backend']} | {r['pairs_s']:.2f} | "
            f"{r['pairs_s'] / rows[0]['pairs_s']:.2f} | {r['per_proc']} |")
  if 'step' in sections:
    rows = _step(args)
    print(f'\none primal-dual step at {size}, 1 thread (best of 8 x 200):')
    for r in rows:
      print(f"  {r['formulation']:7s} {r['ms']:.3f} ms/step")
    print(f"  speed-up {rows[0]['ms'] / rows[1]['ms']:.2f}x; largest flow "
          f"difference after 200 steps {rows[0]['max_diff']:.1e}")
  if 'sizes' in sections:
    rows = _sizes(args)
    print('\nseconds per pair, 1 thread, OpenCV\'s stopping rule:')
    print('| size | OpenCV s/pair | TF s/pair | TF/OpenCV speed | TF compile s '
          '| pairs to repay compile |')
    print('|---|---|---|---|---|---|')
    for r in rows:
      gain = r['opencv_s'] - r['tf_s']
      repay = f"{r['compile_s'] / gain:.0f}" if gain > 0 else 'never'
      print(f"| {r['size']} | {r['opencv_s']:.3f} | {r['tf_s']:.3f} | "
            f"{r['opencv_s'] / r['tf_s']:.2f}x | {r['compile_s']:.1f} | "
            f'{repay} |')


if __name__ == '__main__':
  main()
