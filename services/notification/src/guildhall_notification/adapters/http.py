"""The webhook HTTP sender (httpx2): one POST with a timeout, never following redirects."""

from __future__ import annotations

from collections.abc import Mapping

import httpx2


class HttpSender:
    def __init__(self) -> None:
        self._client = httpx2.AsyncClient(follow_redirects=False)

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> tuple[int, str]:
        """(status, error); status 0 when the endpoint did not answer in time."""
        try:
            response = await self._client.post(
                url, content=body, headers=dict(headers), timeout=timeout_s
            )
        except httpx2.HTTPError as exc:
            return 0, f"{type(exc).__name__}: {exc}"[:500]
        return response.status_code, ""

    async def close(self) -> None:
        await self._client.aclose()
