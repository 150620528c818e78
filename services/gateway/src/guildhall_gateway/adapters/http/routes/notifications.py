"""Notifications: the inbox and marking read (the rest follows the contract as it lands)."""

from __future__ import annotations

from guildhall_gateway.adapters.http.operations import Operation
from guildhall_gateway.adapters.services import Rpc, has_method

PAGE = ("page_size", "page_token")


def _n(method: str) -> Rpc:
    return Rpc("notification", method)


_ALL: tuple[Operation, ...] = (
    Operation(
        "listNotifications",
        "GET",
        "/v1/notifications",
        _n("ListInbox"),
        "The caller's notifications, newest first",
        "notifications",
        query=("unread_only", *PAGE),
        partner=True,
    ),
    Operation(
        "markNotificationsRead",
        "POST",
        "/v1/notifications/read",
        _n("MarkRead"),
        "Mark some of the caller's notifications read",
        "notifications",
        body=("notification_ids",),
        partner=True,
    ),
)

OPERATIONS: tuple[Operation, ...] = tuple(
    op for op in _ALL if has_method(op.rpc.service, op.rpc.method)
)
