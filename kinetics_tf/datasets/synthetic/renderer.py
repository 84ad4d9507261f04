"""Procedural action clips whose classes differ only by motion or only by appearance.

Every clip shows one square plate over a static textured background, on a
torus (the plate wraps around the frame edges).  Two families of classes:

* motion: a plain grey noise-textured plate that moves left / right / up /
  down, rotates clockwise / anticlockwise, or approaches / recedes.  Position,
  orientation and scale have the same distribution in every frame for all
  eight classes (uniform position and angle; scale drawn so that its marginal
  over frames is the same whether it grows, shrinks or stays), so a single RGB
  frame carries no information about the class: only motion does.
* appearance: the same plate painted with a pattern (stripes, checks, a disc
  or a cross) in a colour of its own per class, wandering at random (a
  velocity random walk that is the same for all eight classes).  Each class
  has a distinct hue because painted patterns alone are too fine for a small
  network on 40-pixel crops to learn in the demo's few minutes (measured:
  with two colours shared by four patterns each, the RGB stream was still
  near its colour-only accuracy after 1,200 steps).  Its silhouette is the same square
  as the motion family's, so flow, which sees motion and outlines but not
  colour or painted patterns, cannot tell these classes apart: only RGB can.

This is the paper's two-stream result in miniature (flow carries the motion
classes, RGB the appearance classes).  Rendering is deterministic: the same
(seed, size, frames) always gives the same uint8 frames.
"""

import math

import cv2
import numpy as np

MOTION = 'motion'
APPEARANCE = 'appearance'

MOTIONS = ('move_left', 'move_right', 'move_up', 'move_down',
           'rotate_clockwise', 'rotate_anticlockwise', 'approach', 'recede')
PATTERNS = ('stripes', 'checks', 'disc', 'cross')
# One hue per appearance class, 45 degrees apart on the colour wheel.
COLORS = {'red': (215, 45, 40), 'orange': (235, 140, 30),
          'yellow': (220, 210, 40), 'green': (50, 175, 60),
          'cyan': (40, 195, 205), 'blue': (45, 70, 215),
          'purple': (135, 55, 200), 'pink': (230, 85, 170)}
APPEARANCES = tuple(f'{c}_{PATTERNS[i % len(PATTERNS)]}'
                    for i, c in enumerate(COLORS))

CLASS_NAMES = MOTIONS + APPEARANCES
CLASS_FAMILY = {**{n: MOTION for n in MOTIONS},
                **{n: APPEARANCE for n in APPEARANCES}}

# Plate side as a fraction of the frame side at scale 1; scales span
# [exp(_LOG_SCALE[0]), exp(_LOG_SCALE[1])] so the plate never overlaps itself
# on the torus.
_PLATE = 0.42
_LOG_SCALE = (math.log(0.75), math.log(1.3))
# Per-frame speeds at a 64-pixel frame (scaled with the frame side).
_SPEED = (1.2, 2.2)           # px / frame, translations
_SPIN = (5.0, 9.0)            # degrees / frame, rotations
_ZOOM = (0.022, 0.034)        # log-scale / frame, approach / recede
_WANDER_SIGMA = 1.3           # px / frame, random-walk velocity noise
_WANDER_KEEP = 0.55           # velocity memory of the random walk


def _smooth_noise(rng, shape, sigma):
  """Zero-mean, unit-spread noise blurred by `sigma` pixels."""
  noise = rng.standard_normal(shape).astype(np.float32)
  noise = cv2.GaussianBlur(noise, (0, 0), sigma)
  return noise / (noise.std() + 1e-6)


def _background(rng, size):
  tint = rng.uniform(60, 140) + rng.uniform(-12, 12, size=3)
  texture = _smooth_noise(rng, (size, size), 2.0 * size / 64) * 14
  return np.clip(texture[..., None] + tint, 0, 255).astype(np.float32)


def _pattern_mask(pattern, side):
  """Where a painted pattern covers the plate: float [side, side] in {0, 1}."""
  u = (np.arange(side) + 0.5) / side
  yy, xx = np.meshgrid(u, u, indexing='ij')
  if pattern == 'stripes':
    return (np.floor(xx * 4) % 2).astype(np.float32)
  if pattern == 'checks':
    return ((np.floor(xx * 3) + np.floor(yy * 3)) % 2).astype(np.float32)
  if pattern == 'disc':
    return (((xx - 0.5) ** 2 + (yy - 0.5) ** 2) < 0.33 ** 2).astype(np.float32)
  if pattern == 'cross':
    arm = (np.abs(xx - 0.5) < 0.13) | (np.abs(yy - 0.5) < 0.13)
    return arm.astype(np.float32)
  raise ValueError(f'unknown pattern {pattern!r}; use one of {PATTERNS}')


def _plate(rng, name, side):
  """The plate's RGB texture, float [side, side, 3]: grey noise + paint."""
  grey = rng.uniform(120, 170)
  noise = _smooth_noise(rng, (side, side), max(0.7, side / 40)) * 38
  rgb = np.repeat((grey + noise)[..., None], 3, axis=-1)
  if CLASS_FAMILY[name] == APPEARANCE:
    color, pattern = name.split('_', 1)
    paint = np.asarray(COLORS[color], np.float32) + rng.uniform(-20, 20, 3)
    mask = _pattern_mask(pattern, side)[..., None] * 0.8
    rgb = rgb * (1 - mask) + (paint + noise[..., None] * 0.5) * mask
  return np.clip(rgb, 0, 255).astype(np.float32)


def _static_log_scales(rng, rate, num_frames):
  """A constant log-scale with the marginal of a zoom at `rate` (see module)."""
  span = rate * (num_frames - 1)
  lo, hi = _LOG_SCALE
  return lo + rng.uniform(0, hi - lo - span) + rng.uniform(0, span)


def _trajectory(rng, name, size, num_frames):
  """Per-frame (x, y, angle degrees, log scale) arrays of the plate's centre."""
  t = np.arange(num_frames, dtype=np.float64)
  k = size / 64.0
  pos = rng.uniform(0, size, 2)
  angle = np.full(num_frames, rng.uniform(0, 360))
  # Longer clips zoom more slowly, so the scale stays in _LOG_SCALE.
  rate = rng.uniform(*_ZOOM) * min(1.0, 15.0 / max(num_frames - 1, 1))
  log_scale = np.full(num_frames, _static_log_scales(rng, rate, num_frames))
  x, y = np.full(num_frames, pos[0]), np.full(num_frames, pos[1])
  if name.startswith('move_'):
    step = rng.uniform(*_SPEED) * k * t
    dx, dy = {'move_left': (-1, 0), 'move_right': (1, 0),
              'move_up': (0, -1), 'move_down': (0, 1)}[name]
    x, y = x + dx * step, y + dy * step
  elif name.startswith('rotate_'):
    # _affine turns anticlockwise on screen for positive angles.
    sign = -1 if name == 'rotate_clockwise' else 1
    angle = angle + sign * rng.uniform(*_SPIN) * t
  elif name in ('approach', 'recede'):
    span = rate * (num_frames - 1)
    start = rng.uniform(_LOG_SCALE[0], _LOG_SCALE[1] - span)
    grow = rate * t if name == 'approach' else span - rate * t
    log_scale = start + grow
  else:  # appearance family: a velocity random walk
    v = rng.normal(0, _WANDER_SIGMA * k, 2)
    steps = np.zeros((num_frames, 2))
    for i in range(1, num_frames):
      v = _WANDER_KEEP * v + rng.normal(0, _WANDER_SIGMA * k, 2)
      steps[i] = steps[i - 1] + v
    x, y = x + steps[:, 0], y + steps[:, 1]
  return x, y, angle, log_scale


def _affine(cx, cy, angle_deg, scale, size):
  """2x3 matrix: canvas centre -> (cx, cy), turned by angle, scaled."""
  a = math.radians(angle_deg)
  # As cv2.getRotationMatrix2D: positive angles turn anticlockwise on screen.
  cos, sin = math.cos(a) * scale, math.sin(a) * scale
  c = size / 2.0
  return np.array([[cos, sin, cx - cos * c - sin * c],
                   [-sin, cos, cy + sin * c - cos * c]], np.float64)


def render(name: str, seed, size: int = 64, num_frames: int = 16) -> np.ndarray:
  """Renders one clip of class `name`.

  Args:
    name: one of CLASS_NAMES.
    seed: an int or a sequence of ints (numpy SeedSequence entropy).
    size: frame side in pixels (frames are square), at least 16.
    num_frames: frames in the clip, at least 2.

  Returns:
    uint8 [num_frames, size, size, 3] RGB frames.

  Raises:
    ValueError: an unknown class name, or a size / frame count too small.
  """
  if name not in CLASS_FAMILY:
    raise ValueError(f'unknown synthetic class {name!r}; use one of '
                     f'{CLASS_NAMES}')
  if size < 16 or num_frames < 2:
    raise ValueError(f'synthetic clips need size >= 16 and num_frames >= 2; '
                     f'got size={size}, num_frames={num_frames}')
  rng = np.random.default_rng(seed)
  background = _background(rng, size)
  side = max(4, int(round(_PLATE * size)))
  layer = np.zeros((size, size, 4), np.float32)
  lo = (size - side) // 2
  layer[lo:lo + side, lo:lo + side, :3] = _plate(rng, name, side)
  layer[lo:lo + side, lo:lo + side, 3] = 1.0
  x, y, angle, log_scale = _trajectory(rng, name, size, num_frames)
  frames = np.empty((num_frames, size, size, 3), np.uint8)
  for i in range(num_frames):
    m = _affine(x[i] % size, y[i] % size, angle[i], math.exp(log_scale[i]),
                size)
    warped = cv2.warpAffine(layer, m, (size, size), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_WRAP)
    alpha = warped[..., 3:]
    frame = background * (1 - alpha) + warped[..., :3]
    frames[i] = np.clip(frame + 0.5, 0, 255).astype(np.uint8)
  return frames
