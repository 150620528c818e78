"""Guildhall gateway service: the HTTP/JSON face for employees and partners."""
