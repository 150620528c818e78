"""Guildhall community service: communities, memberships, pinholes and the access decision."""
