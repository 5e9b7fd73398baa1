"""Measuring the assistant: the retrieval benchmark, conversation replay and load benchmarks."""
