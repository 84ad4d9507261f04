"""Kinetics metadata, annotation CSVs and clip looping (first stop of the road).

Video decoding is ``flow.decoding`` (``flow/`` stands alone for cluster
workers; the library imports the decoder from there).
"""
