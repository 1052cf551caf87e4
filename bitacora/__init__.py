"""Bitácora: the shared kernel (settings, event schema, topic and index names, CLI, local stack)."""

__version__ = "0.1.0"
