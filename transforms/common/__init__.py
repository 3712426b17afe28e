"""Shared core: settings, lake I/O, quarantine, validation checkpoints."""
