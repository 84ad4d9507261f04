"""kinetics-tf: the Kinetics paper (Kay et al. 2017) reproduced in TensorFlow/Keras."""

import setuptools

BEAM = [
    # `tfds build` and the Beam pipelines of flow/ and the builders.
    # tfds does not declare these; its own beam pin clashes with TF 2.21.
    'apache-beam==2.77.0',
    'mlcroissant>=1.0',
    'importlib_resources>=6.0',
]

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
    install_requires=[
        'tensorflow-cpu>=2.21,<2.22',
        'tensorflow-datasets>=4.9.10,<4.10',
        # contrib carries cv2.optflow.DualTVL1OpticalFlow_create; never
        # install plain opencv-python beside it.
        'opencv-contrib-python-headless>=4.14,<5.1',
        'av>=14',
        'absl-py>=2.0',
        'numpy>=2.0,<3',
        'tqdm>=4.60',
        'matplotlib>=3.8',
    ],
    extras_require={
        'beam': BEAM,
        'test': ['pytest>=8', 'pytest-xdist>=3.5'] + BEAM,
        # A CUDA TensorFlow for GPU machines (replaces the CPU wheel's module).
        'gpu': ['tensorflow[and-cuda]>=2.21,<2.22'],
    },
    entry_points={
        'console_scripts': [
            'kinetics-tf=kinetics_tf.cli:main',
            'kinetics-flow=flow.extract:main',
        ],
    },
)
