"""The on-device item classifier: the shipped int8 model, its labels, and training code."""
