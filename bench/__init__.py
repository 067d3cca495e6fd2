"""Benchmarks: each measures against a baseline run in the same session and appends its figures
to bench/RESULTS.md. Run them all with `make bench` (not part of the test command)."""
