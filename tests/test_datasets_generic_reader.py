"""A built dataset read by a generic TFDS video reader, with the project's modules hidden.

A user with only tensorflow-cpu and tensorflow-datasets (no kinetics_tf, no
flow) loads ``synthetic_actions/tiny`` (a whole-clip config: one example per
clip in every split), reads from ``features.json`` what the flow means, and
trains a small Keras video model on fixed-length clips as a generic reader
(Model Garden's TFDS video input is one) does: unchanged, every example a
clip of distinct frames.
"""

import json

from conftest import hidden_python

_READER = '''
import json, warnings
import numpy as np, tensorflow as tf, tensorflow_datasets as tfds
warnings.simplefilter('ignore')
data_dir, out = sys.argv[1], sys.argv[2]
builder = tfds.builder('synthetic_actions/tiny', data_dir=data_dir)
info = builder.info
frames = 8
def clip(ex):  # a random window of 8 consecutive frames, as a generic reader samples
  video = ex['video']
  start = tf.random.uniform([], 0, tf.shape(video)[0] - frames + 1, tf.int32)
  return tf.cast(video[start:start + frames], tf.float32) / 255.0, ex['label']
train = builder.as_dataset(split='train', shuffle_files=True)
distinct = [len({f.tobytes() for f in ex['video']}) for ex in tfds.as_numpy(train)]
model = tf.keras.Sequential([
    tf.keras.Input([frames, 32, 32, 3]),
    tf.keras.layers.Conv3D(4, 3, strides=2, activation='relu'),
    tf.keras.layers.GlobalAveragePooling3D(),
    tf.keras.layers.Dense(info.features['label'].num_classes)])
model.compile('adam', tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
history = model.fit(train.map(clip).batch(8), epochs=1, verbose=0)
flow = info.features['flow']
json.dump({'examples': len(distinct), 'split_examples': info.splits['train'].num_examples,
           'distinct_frames': distinct, 'num_frames': info.features['video'].shape[0],
           'loss': float(history.history['loss'][-1]),
           'flow_doc': flow.doc.desc, 'flow_x_doc': flow['x'].doc.desc,
           'homepage': info.homepage, 'citation': info.citation}, open(out, 'w'))
'''


def test_a_generic_reader_trains_on_whole_clips(tiny_data_dir, tmp_path):
  out = tmp_path / 'read.json'
  done = hidden_python(_READER, tiny_data_dir, str(out), cwd=tmp_path)
  assert done.returncode == 0, done.stderr[-3000:]
  read = json.loads(out.read_text())
  # Every training example is a whole clip: 12 distinct frames, 2 clips per class.
  assert read['examples'] == read['split_examples'] == 32
  assert read['distinct_frames'] == [read['num_frames']] * 32 and read['num_frames'] == 12
  assert read['loss'] == read['loss'] and read['loss'] > 0  # finite, trained
  # The data says how uint8 flow maps to pixels.
  assert 'px = v * 40 / 255 - 20' in read['flow_doc']
  assert "'x' (horizontal) then 'y' (vertical)" in read['flow_doc']
  assert 'from frame t to frame t+1' in read['flow_x_doc']
  assert read['homepage'] == 'https://arxiv.org/abs/1705.06950'
  assert 'The Kinetics Human Action Video Dataset' in read['citation']
