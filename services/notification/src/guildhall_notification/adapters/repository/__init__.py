"""MongoDB: documents <-> domain, queries, and every collection's declared indexes."""

from __future__ import annotations

from guildhall_kit.mongo import IndexSpec
from guildhall_notification.adapters.repository import (
    notifications,
    preferences,
    readmodels,
    routing,
    subscriptions,
    webhooks,
)


def indexes() -> list[IndexSpec]:
    """Every index the service's queries need (created at start-up)."""
    return [
        *notifications.indexes(),
        *readmodels.indexes(),
        *subscriptions.indexes(),
        *preferences.indexes(),
        *routing.indexes(),
        *webhooks.indexes(),
    ]
