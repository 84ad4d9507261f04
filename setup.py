"""kinetics-tf: the Kinetics paper (Kay et al. 2017) reproduced in TensorFlow/Keras."""

import setuptools

BEAM = [
    # The `tfds build` command line and the Beam pipelines of flow/ and the
    # builders. tfds does not declare these; its own beam pin clashes with
    # TF 2.21's protobuf.
    'apache-beam==2.77.0',
    'mlcroissant>=1.0',
]

ONNX = [
    # 1.17 is the first tf2onnx that converts TF 2.21's graphs here (with
    # NumPy 2 aliases, kinetics_tf/conversions.py); onnxruntime runs them.
    'tf2onnx>=1.17',
    'onnx>=1.17',
    'onnxruntime>=1.20',
]

# TensorFlow comes only from an extra, so that one wheel owns the
# `tensorflow` module: pip has no default extra, and an extra cannot remove a
# base requirement (tensorflow-cpu beside tensorflow[and-cuda] would leave
# the module to the install order).  tensorflow-cpu 2.21 is built for Linux
# x86_64 and Windows only; elsewhere (macOS, Linux aarch64) the plain
# tensorflow wheel is the CPU one.  PEP 508 markers have no `not`, so the
# second marker spells out the complement of the first.
TF_VERSIONS = '>=2.21,<2.22'
CPU = [
    f'tensorflow-cpu{TF_VERSIONS}; (sys_platform == "linux" and '
    'platform_machine == "x86_64") or sys_platform == "win32"',
    f'tensorflow{TF_VERSIONS}; (sys_platform != "linux" or '
    'platform_machine != "x86_64") and sys_platform != "win32"',
]
# Linux x86_64 with NVIDIA GPUs: one TensorFlow with its CUDA libraries
# (nvidia-*-cu12) from pip; no tensorflow-cpu beside it.
GPU = [f'tensorflow[and-cuda]{TF_VERSIONS}']

# The lowest version of each range is tested too: .ci/run builds a second
# fresh environment from .ci/lowest.txt (with the cpu extra) and runs the
# flow and decoding tests in it; constraints.txt holds the versions of the
# last green run of the highest ones.
setuptools.setup(
    name='kinetics-tf',
    version='0.1.0',
    description=('The Kinetics Human Action Video Dataset (Kay et al. 2017): '
                 'dataset builders, TV-L1 flow, baselines, training and '
                 'evaluation in TensorFlow/Keras.'),
    python_requires='>=3.11,<3.13',
    packages=setuptools.find_packages(
        include=['kinetics_tf', 'kinetics_tf.*', 'flow', 'flow.*',
                 'experiments', 'experiments.*']),
    package_data={'kinetics_tf.data': ['*.txt', '*.json', '*.csv']},
    # No TensorFlow here: the cpu or gpu extra brings it (see CPU above).
    # Without either, only the flow tool with OpenCV's TV-L1 runs, and
    # `import kinetics_tf` says which extra to install.
    install_requires=[
        'tensorflow-datasets>=4.9.10,<4.10',
        # tfds imports it when it prepares a dataset but does not declare it.
        'importlib_resources>=6.0',
        # contrib carries cv2.optflow.DualTVL1OpticalFlow_create; never
        # install plain opencv-python beside it. 4.14 and 5.0 differ in
        # cv::remap (5.0 interpolates at the exact position, 4.x at 1/32 px),
        # which moves OpenCV's TV-L1 by ~0.02 px; both are tested.
        'opencv-contrib-python-headless>=4.14,<5.1',
        # 17.0 added threads= to VideoFrame.to_ndarray (the RGB conversion of
        # flow/decoding.py); 14-16 raise TypeError there.
        'av>=17',
        # Flags of every binary, flow.extract's and flow.beam's included.
        'absl-py>=2.0',
        'numpy>=2.0,<3',
        'tqdm>=4.60',
        # 3.9 is the first matplotlib built for numpy 2 (3.8 needs numpy<2).
        'matplotlib>=3.9',
    ],
    extras_require={
        'cpu': CPU,
        'gpu': GPU,
        'beam': BEAM,
        # dill: tensorflow_datasets.testing (DatasetBuilderTestCase, in
        # tests/test_datasets_tfds_checks.py) imports it; tfds does not
        # declare it.  No TensorFlow: combine with cpu or gpu ('.[cpu,test]').
        'test': ['pytest>=8', 'pytest-xdist>=3.5', 'dill'] + BEAM + ONNX,
        # kinetics_tf.conversions.onnx (export --convert=onnx) and its parity test.
        'onnx': ONNX,
    },
    entry_points={
        'console_scripts': [
            'kinetics-tf=kinetics_tf.cli:main',
            'kinetics-flow=flow.extract:main',
        ],
    },
)
