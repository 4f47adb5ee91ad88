"""Benchmarks through the real Envoy gateway; run `python bench/availability.py` or `python bench/booking.py`."""
