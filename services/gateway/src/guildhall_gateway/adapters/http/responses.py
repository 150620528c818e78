"""Response bodies: orjson-encoded JSON and problem+json documents."""

from __future__ import annotations

from typing import Any, Final

import orjson
from starlette.responses import JSONResponse, Response

from guildhall_gateway.domain.problems import NOT_FOUND_BODY, Problem

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
NOT_FOUND_BYTES: Final = orjson.dumps(NOT_FOUND_BODY)
"""The one body of every 404, whatever was missing and why."""


class JsonResponse(JSONResponse):
    """JSON encoded with orjson (several times faster than the standard library's)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def problem_response(problem: Problem) -> Response:
    """The problem+json answer for ``problem``, with Retry-After and its own headers."""
    headers = dict(problem.headers)
    if problem.retry_after is not None:
        headers["Retry-After"] = str(problem.retry_after)
    body = NOT_FOUND_BYTES if problem.type.status == 404 else orjson.dumps(problem.body())
    return Response(
        body, status_code=problem.type.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )
