"""MongoDB storage of the community service: documents, declared indexes, queries, writes.

- :mod:`.documents`  domain values <-> BSON documents; collection names
- :mod:`.store`      :class:`Repository` (the application's ``Store``) and :func:`indexes`
"""

from .documents import OUTBOX_COLLECTIONS
from .store import Repository, indexes

__all__ = ["OUTBOX_COLLECTIONS", "Repository", "indexes"]
