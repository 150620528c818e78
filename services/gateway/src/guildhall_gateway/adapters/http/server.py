"""Uvicorn serving the HTTP app inside the service's event loop."""

from __future__ import annotations

import uvicorn
from starlette.types import ASGIApp


class HttpServer:
    """Uvicorn serving the app inside the service's event loop.

    Signals stay with the service (the kit drains gRPC and HTTP together), so
    uvicorn's own signal capture is not used.
    """

    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_config=None, access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self.port = port

    async def serve(self) -> None:
        """Start listening, serve until :meth:`stop`, then close connections."""
        config = self._server.config
        if not config.loaded:
            config.load()
        self._server.lifespan = config.lifespan_class(config)
        await self._server.startup()
        if self._server.servers:
            sockets = self._server.servers[0].sockets
            if sockets:
                self.port = int(sockets[0].getsockname()[1])
        try:
            await self._server.main_loop()
        finally:
            await self._server.shutdown()

    async def stop(self) -> None:
        """Ask the server to finish in-flight requests and stop."""
        self._server.should_exit = True
