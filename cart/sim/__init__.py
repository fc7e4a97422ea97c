"""Simulated devices and shoppers. A simulated device speaks the real bytes (or renders real
pixels), so the real drivers and parsers run against it."""
