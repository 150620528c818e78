"""Full-text search over the post service's content: a tantivy index in process.

The index is a cache of the service's own events: the service maps each
event to ``upsert`` / ``patch`` / ``delete`` calls, records the consumer
position with ``record_position``, and commits in batches (``CommitPolicy``,
``AutoCommitter``). It can always be rebuilt, from the topic (``clear`` and
replay from offset 0) or from a snapshot (``rebuild``). Searches take the
principal's readable spaces and never match anything outside them.

How events map onto the index (the service's event handler does this):

==================  ========================================================
PostCreated         ``upsert`` the post (kind from its type)
PostEdited          ``patch(title=, body=, tags=)``
WikiRevised         ``upsert`` on the first revision, ``patch`` after
PostDeleted         ``delete`` (its answers and comments go with it)
AnswerPosted        ``upsert`` the answer (``parent_id`` = the question)
CommentAdded        ``upsert`` the comment (``parent_id`` = the item)
AnswerAccepted      ``patch(question_id, answered=True)``
==================  ========================================================

See ``docs/adr/0008-search-engine.md`` for the design and its limits.
"""

from guildhall_post.search.analysis import MAX_QUERY_CHARS, MAX_QUERY_TERMS
from guildhall_post.search.commit_policy import AutoCommitter, CommitPolicy, commit_if_due
from guildhall_post.search.index import (
    MAX_LIMIT,
    MAX_OFFSET,
    IndexStats,
    SearchIndex,
    SearchIndexClosed,
    SearchIndexError,
)
from guildhall_post.search.model import (
    MAX_VERSION,
    Hit,
    ItemKind,
    SearchDoc,
    SearchPage,
    Snippet,
)
from guildhall_post.search.schema import SCHEMA_VERSION

__all__ = [
    "MAX_LIMIT",
    "MAX_OFFSET",
    "MAX_QUERY_CHARS",
    "MAX_QUERY_TERMS",
    "MAX_VERSION",
    "SCHEMA_VERSION",
    "AutoCommitter",
    "CommitPolicy",
    "Hit",
    "IndexStats",
    "ItemKind",
    "SearchDoc",
    "SearchIndex",
    "SearchIndexClosed",
    "SearchIndexError",
    "SearchPage",
    "Snippet",
    "commit_if_due",
]
