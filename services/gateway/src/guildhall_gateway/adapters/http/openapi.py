"""The OpenAPI 3.1 document: FastAPI's, completed with problems, security and headers.

FastAPI derives paths, parameters and schemas from the routes and their
models. This adds what a client generator needs and FastAPI does not know:
the error answers of every operation (problem+json, RFC 9457) instead of
FastAPI's 422, the security schemes, and the ETag / Retry-After headers.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from guildhall_gateway.adapters.http.models import Problem

_ERRORS: Final = {
    "400": "The request is not valid; `errors` names the fields",
    "401": "No valid access token",
    "403": "The caller may see the object but not do this",
    "404": "No such object, or not visible to the caller (one body for both)",
    "409": "The object's state forbids this, or it already exists",
    "429": "Over the rate limit; retry after Retry-After seconds",
    "502": "A service failed",
    "503": "Temporarily unavailable; retry after Retry-After seconds",
    "504": "A service did not answer in time",
}
_BODY_ERRORS: Final = {
    "413": "The body is larger than the gateway accepts",
    "415": "The body is not application/json",
}
_PRECONDITION: Final = {"412": "The object changed since it was read (stale If-Match or revision)"}

RETRY_AFTER: Final = {
    "description": "Seconds to wait before retrying.",
    "schema": {"type": "integer", "minimum": 1},
}
ETAG: Final = {
    "description": "The object's version, for If-Match on the next edit.",
    "schema": {"type": "string"},
}


def _problem(description: str, code: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
    if code in ("429", "503"):
        answer["headers"] = {"Retry-After": RETRY_AFTER}
    return answer


def document(app: FastAPI) -> dict[str, Any]:
    """The complete document for ``app``."""
    doc = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version="3.1.0",
        description=(
            "The HTTP/JSON API of Guildhall for employees, partner people and partner "
            "systems. Errors are application/problem+json (RFC 9457) with a stable `type`. "
            "Lists are paged with `page_size` (at most 100) and the opaque `page_token` "
            "from the previous page's `next_page_token`. A partner reaches only the "
            "pinholes granted to its org and still open; anything else answers 404 exactly "
            "like a missing object."
        ),
        routes=app.routes,
    )
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, inner in problem_schema.pop("$defs", {}).items():
        schemas[name] = inner
    schemas["Problem"] = problem_schema
    components["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from the enterprise's OpenID Connect provider.",
        },
        "partnerClient": {
            "type": "oauth2",
            "description": "A partner system's client-credentials token.",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/oauth/token",
                    "scopes": {
                        "pinholes:read": "Read the org's pinholes",
                        "pinholes:write": "Read and write in the org's pinholes",
                    },
                }
            },
        },
    }
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            _complete(path, method, operation)
    return doc


def _complete(path: str, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    responses.pop("422", None)
    if not path.startswith("/v1/"):
        return
    operation["security"] = [{"bearer": []}, {"partnerClient": []}]
    wanted = dict(_ERRORS)
    if "requestBody" in operation:
        wanted.update(_BODY_ERRORS)
    parameters = operation.get("parameters", [])
    if any(p.get("name") == "If-Match" for p in parameters) or path.startswith("/v1/wiki/"):
        wanted.update(_PRECONDITION)
    for code, description in wanted.items():
        responses.setdefault(code, _problem(description, code))
    for code, answer in responses.items():
        if code.startswith("2") and method in ("get", "put", "post", "patch"):
            content = answer.get("content", {})
            if content and _has_etag(operation):
                answer.setdefault("headers", {})["ETag"] = ETAG


def _has_etag(operation: dict[str, Any]) -> bool:
    return bool(operation.get("x-etag"))
