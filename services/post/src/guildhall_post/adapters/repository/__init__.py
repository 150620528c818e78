"""MongoDB: the content collections and the read model, and their declared indexes."""

from __future__ import annotations

from guildhall_kit.mongo import IndexSpec
from guildhall_post.adapters.repository.content import (
    FEED_CHUNK,
    OUTBOX_COLLECTIONS,
    ContentRepository,
    content_indexes,
)
from guildhall_post.adapters.repository.readmodel import ReadModelRepository, read_model_indexes

__all__ = [
    "FEED_CHUNK",
    "OUTBOX_COLLECTIONS",
    "ContentRepository",
    "ReadModelRepository",
    "indexes",
]


def indexes() -> list[IndexSpec]:
    """Every index the post service declares (created at start-up)."""
    return [*content_indexes(), *read_model_indexes()]
