"""tf.data input: per-model training sampling (Table 3, §4.4) and shared ops."""
