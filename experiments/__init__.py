"""Training configurations: one module per row of the paper's Table 4, plus synthetic ones.

Each module opens with the command that runs it and its expected cost, and
defines ``get_config() -> kinetics_tf.training.config.Config``.
"""
