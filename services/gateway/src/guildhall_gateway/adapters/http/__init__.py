"""The HTTP/JSON face: FastAPI routes over the services' contracts."""
