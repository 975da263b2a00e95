"""Benchmark harness: figures (time, throughput, peak memory), never pass/fail assertions."""
