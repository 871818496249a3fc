"""Headless core: document, history, operation specs, registry, I/O. Never imports Qt or torch."""
