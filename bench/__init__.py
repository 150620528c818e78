"""Benchmarks and the workload generator (``make bench``)."""
