"""Guildhall post service: content in spaces, feeds and search."""
