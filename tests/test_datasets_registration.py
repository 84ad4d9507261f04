"""`import kinetics_tf` registers the builders with TFDS, without importing TFDS itself."""

import subprocess
import sys

NAMES = ('kinetics400', 'ucf101_local', 'hmdb51_local', 'synthetic_actions',
         'video_folder')


def _run(code: str) -> str:
  out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                       text=True, check=True, timeout=300)
  return out.stdout.strip()


def test_import_kinetics_tf_data_does_not_import_tfds():
  assert _run('import sys, kinetics_tf.data.classes; '
              'print("tensorflow_datasets" in sys.modules)') == 'False'


def test_builders_registered_whichever_is_imported_first():
  check = ('print(all(n in tfds.list_builders(with_community_datasets=False)'
           f' for n in {NAMES!r}))')
  assert _run('import kinetics_tf; import tensorflow_datasets as tfds; '
              + check) == 'True'
  assert _run('import tensorflow_datasets as tfds; import kinetics_tf; '
              + check) == 'True'


def test_tfds_own_ucf101_is_left_alone():
  code = ('import kinetics_tf, tensorflow_datasets as tfds; '
          'print(tfds.builder_cls("ucf101").__module__, '
          'tfds.builder_cls("ucf101_local").__module__)')
  own, ours = _run(code).split()
  assert own.startswith('tensorflow_datasets.')
  assert ours == 'kinetics_tf.datasets.ucf_hmdb.ucf_hmdb'
