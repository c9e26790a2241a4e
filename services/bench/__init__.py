"""Reproducible benchmarks and fault-injection runs against the live local stack."""
