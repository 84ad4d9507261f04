"""Keras models of the paper's three baselines (§4.1-4.3, Table 3).

Each model is a functional ``keras.Model`` built from plain arguments
(num_classes, input_size, width_multiplier, ...) and returns logits, except
``TwoStream``, whose output is the averaged softmax of its two streams.
What the rest of the library needs to know of each model (constructor, input
feature, footprints, test protocol, serving input) is its row of
``kinetics_tf.model_table``.
"""

from kinetics_tf.models.bn_lstm import BNLSTM
from kinetics_tf.models.c3d import C3D
from kinetics_tf.models.convnet_lstm import ConvNetLSTM
from kinetics_tf.models.imagenet import (cross_modality_kernel,
                                         init_flow_from_rgb,
                                         load_imagenet_weights)
from kinetics_tf.models.resnet50 import ResNet50Classifier
from kinetics_tf.models.two_stream import TwoStream, flow_stream, rgb_stream

__all__ = [
    'BNLSTM', 'C3D', 'ConvNetLSTM', 'ResNet50Classifier', 'TwoStream',
    'cross_modality_kernel', 'flow_stream',
    'init_flow_from_rgb', 'load_imagenet_weights', 'rgb_stream',
]
