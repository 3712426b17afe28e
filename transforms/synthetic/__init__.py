"""Synthetic data for demos, tests and benchmarks: generators and the loopback fixture web.

Nothing in the production pipelines imports this package (a test enforces it). Each generator
states what real-world shape it imitates and how it is hard, and every report or doc figure made
from its data says so.
"""
