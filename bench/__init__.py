"""Stigen's benchmark suite: ``.venv/bin/python -m bench`` (see bench/run.py)."""
