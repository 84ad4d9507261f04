"""Kinetics metadata, annotation CSVs and video decoding (first stop of the road)."""
