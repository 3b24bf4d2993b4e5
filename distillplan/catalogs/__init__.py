"""Bundled facts with their sources and dates: GPUs, teacher prices, student architectures."""
