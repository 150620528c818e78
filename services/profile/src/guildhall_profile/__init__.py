"""Guildhall profile service: people, organisations, expertise and the expert directory."""
