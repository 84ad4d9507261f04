"""Metrics and reports of an evaluation: accuracies, Fig. 4 / Table 5 analyses, charts."""

from kinetics_tf.reports.metrics import confusion_matrix
from kinetics_tf.reports.metrics import flow_gains
from kinetics_tf.reports.metrics import group_accuracy
from kinetics_tf.reports.metrics import groups_from_family
from kinetics_tf.reports.metrics import mean_per_class_accuracy
from kinetics_tf.reports.metrics import per_class_accuracy
from kinetics_tf.reports.metrics import summary
from kinetics_tf.reports.metrics import top_confusions
from kinetics_tf.reports.metrics import top_k_accuracy
from kinetics_tf.reports.metrics import top_k_predictions
from kinetics_tf.reports.writer import write_report
