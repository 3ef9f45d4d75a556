"""Stigen's pure domain: the rules, without Flask or a database."""
