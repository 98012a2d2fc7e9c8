"""Retrieval: from a spectrum to ranked candidate structures.

Importing this package imports nothing; the modules import what they need.
"""
