"""Identification from mouse and scroll logs (SPEC S1.4): recorder, features, models, evaluation."""
