"""The route tables, one module per resource area; :data:`OPERATIONS` is all of them."""

from __future__ import annotations

from guildhall_gateway.adapters.http.operations import Operation
from guildhall_gateway.adapters.http.routes import (
    communities,
    content,
    notifications,
    people,
    pinholes,
    threads,
)

OPERATIONS: tuple[Operation, ...] = (
    *people.OPERATIONS,
    *communities.OPERATIONS,
    *pinholes.OPERATIONS,
    *content.OPERATIONS,
    *threads.OPERATIONS,
    *notifications.OPERATIONS,
)
