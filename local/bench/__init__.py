"""`make bench`: the driver (bench.py) and the one-measurement probe it starts (probe.py)."""
