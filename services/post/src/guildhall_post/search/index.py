"""The search index of the post service: tantivy, in process, one per replica.

Contracts in one place (each method repeats its own):

- **Writes are staged, then committed.** ``upsert``, ``patch``, ``delete``,
  ``clear`` and ``record_position`` stage changes; searches see them only
  after ``commit()`` returns. Staged changes and recorded positions become
  durable together, in one tantivy commit, so after a crash the index and
  its positions agree and consumption resumes exactly where the index is.
- **Versions only move forward.** A write carries the item's version and is
  ignored unless it is newer than what the index holds (committed or
  staged), deletions included: a redelivered or replayed event is a no-op.
- **Deleted stays deleted.** A deletion leaves a tombstone with its version,
  so an older event arriving later cannot bring the item back; answers and
  comments of a deleted item are removed with it and not indexed again.
- **Access is part of the query.** ``search`` puts the readable-space filter
  inside the tantivy query, so ranking, paging and ``total`` only ever see
  items the principal may read.

Threads and asyncio: one writer, serialised by a lock; any number of
concurrent searches, which never take that lock. tantivy releases the GIL
while it indexes, commits and searches. ``commit`` and ``rebuild`` block for
disk I/O and merging (tens of ms to seconds): run them in a worker thread
(``asyncio.to_thread``). The staging methods take microseconds but wait for
a commit in progress, so an asyncio caller runs them in a worker thread too,
ideally a batch per call. ``search`` takes about a millisecond on typical
queries; ``asyncio.to_thread`` keeps the event loop responsive at the tail.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import tantivy

from guildhall_post.search import query as q
from guildhall_post.search import schema as f
from guildhall_post.search.analysis import (
    ANALYZER,
    english_analyzer,
    exact_key,
    parse_user_query,
    tag_key,
)
from guildhall_post.search.model import (
    MAX_VERSION,
    ItemKind,
    SearchDoc,
    SearchPage,
    require_aware,
    require_id,
)

MAX_LIMIT: Final = 100
"""Largest page size ``search`` accepts."""
MAX_OFFSET: Final = 10_000
"""Deepest offset ``search`` accepts: deeper pages cost a top-(offset+limit) collection."""

DEFAULT_WRITER_HEAP_BYTES: Final = 64 * 1024 * 1024
"""Indexing memory budget; tantivy flushes a segment to disk when it is used up."""

_POSITION_SEPARATOR: Final = "\x1f"  # never part of an item id: position keys cannot collide


def _count(result: tantivy.SearchResult) -> int:
    # The bundled type stubs omit SearchResult.count; it is there when count=True.
    return int(result.count or 0)  # type: ignore[attr-defined]


class SearchIndexError(RuntimeError):
    """The index could not be opened or written; the message says why."""


class SearchIndexClosed(SearchIndexError):  # noqa: N818 - reads as a state, like the kit's errors
    """A method was called after ``close()``."""


@dataclass(frozen=True, slots=True)
class IndexStats:
    """A snapshot of the index for metrics and health pages."""

    documents: int
    """Committed documents, tombstones and positions included."""
    segments: int
    pending_changes: int
    """Staged changes not yet committed."""


@dataclass(frozen=True, slots=True)
class _State:
    """What the index holds for one item id: its version, and the doc unless deleted."""

    version: int
    doc: SearchDoc | None  # None: a tombstone


class SearchIndex:
    """Full-text search over the items of the post service. Create with :meth:`open`."""

    def __init__(
        self,
        index: tantivy.Index,
        writer: tantivy.IndexWriter,
        directory: Path | None,
    ) -> None:
        """Use :meth:`open`; this constructor only assembles what ``open`` prepared."""
        self._schema: tantivy.Schema = index.schema
        self._index = index
        self._writer: tantivy.IndexWriter | None = writer
        self._directory = directory
        self._lock = threading.Lock()
        self._pending: dict[str, _State] = {}
        self._pending_positions: dict[tuple[str, int], int] = {}
        self._changes = 0
        self._first_change_at: float | None = None
        self._cleared = False  # clear() staged: the committed index no longer counts
        self._positions = self._read_positions(index.searcher())

    # ------------------------------------------------------------------ life cycle

    @classmethod
    def open(
        cls,
        path: Path | None,
        *,
        writer_heap_bytes: int = DEFAULT_WRITER_HEAP_BYTES,
        writer_threads: int | None = None,
    ) -> SearchIndex:
        """Open the index under ``path``, creating it if needed; ``None`` keeps it in memory.

        On disk the index lives in ``path / "schema-v<N>"`` (see
        ``schema.SCHEMA_VERSION``). A directory written by an incompatible
        tantivy version is wiped and starts empty: the index is a cache of
        the topic, and an empty index reports no positions, so its owner
        replays from the start. ``writer_threads`` defaults to the CPU count,
        at most 4; each thread needs at least 15 MB of ``writer_heap_bytes``.

        Raises SearchIndexError when the directory cannot be used, in
        particular when another writer (this process or another) holds it.
        Blocks on disk I/O.
        """
        schema = f.build_schema()
        directory: Path | None = None
        try:
            if path is None:
                index = tantivy.Index(schema)
            else:
                directory = path / f"schema-v{f.SCHEMA_VERSION}"
                directory.mkdir(parents=True, exist_ok=True)
                where = str(directory)
                if tantivy.Index.exists(where) and not tantivy.Index.is_compatible(where):
                    shutil.rmtree(directory)
                    directory.mkdir()
                index = tantivy.Index(schema, path=where, reuse=True)
            index.register_tokenizer(ANALYZER, english_analyzer())
            # Manual: the reader is reloaded by commit() itself, so a search that
            # starts after commit() returned sees the commit.
            index.config_reader(reload_policy="Manual")
            threads = writer_threads if writer_threads is not None else min(4, os.cpu_count() or 1)
            writer = index.writer(heap_size=writer_heap_bytes, num_threads=threads)
        except (OSError, ValueError) as exc:
            raise SearchIndexError(f"cannot open the search index at {path}: {exc}") from exc
        return cls(index, writer, directory)

    @property
    def directory(self) -> Path | None:
        """Where the index files are; ``None`` for an in-memory index."""
        return self._directory

    def close(self) -> None:
        """Discard staged changes, wait for background merges and release the writer lock.

        Commit first to keep staged changes. Idempotent. Blocks on merges.
        """
        with self._lock:
            writer, self._writer = self._writer, None
            if writer is None:
                return
            if self._changes:
                writer.rollback()
            self._reset_batch()
            writer.wait_merging_threads()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writes

    def upsert(self, doc: SearchDoc) -> bool:
        """Stage ``doc`` as the current state of ``doc.item_id``.

        Returns False, changing nothing, when the index already holds this
        item at ``doc.version`` or newer (a live version or a deletion), or
        when ``doc`` is an answer or comment whose parent is deleted. Returns
        True when staged; searches see it after ``commit()``. May wait for a
        commit in progress. Raises SearchIndexClosed after ``close()``.
        """
        with self._lock:
            writer = self._open_writer()
            current = self._state(doc.item_id)
            if current is not None and doc.version <= current.version:
                return False
            if doc.parent_id is not None:
                parent = self._state(doc.parent_id)
                if parent is not None and parent.doc is None:
                    return False
            self._stage_doc(writer, doc)
            return True

    def patch(
        self,
        item_id: str,
        *,
        version: int,
        title: str | None = None,
        body: str | None = None,
        tags: Iterable[str] | None = None,
        answered: bool | None = None,
    ) -> bool:
        """Stage a change of some fields of an indexed item; ``None`` leaves a field as it is.

        For events that carry only part of an item: an edit (title, body,
        tags), an accepted answer (``answered``). The rest comes from the
        stored document, staged or committed. Returns False, changing
        nothing, when the item is unknown, deleted, or already at
        ``version`` or newer; then the caller needs ``upsert`` with the whole
        document. May wait for a commit in progress.
        """
        with self._lock:
            writer = self._open_writer()
            current = self._effective(item_id)
            if current is None or current.doc is None or version <= current.version:
                return False
            doc = current.doc
            doc = replace(
                doc,
                version=version,
                title=doc.title if title is None else title,
                body=doc.body if body is None else body,
                tags=doc.tags if tags is None else tuple(tags),
                answered=doc.answered if answered is None else answered,
            )
            self._stage_doc(writer, doc)
            return True

    def delete(self, item_id: str, *, version: int | None = None) -> bool:
        """Stage the deletion of ``item_id`` and of the answers and comments that belong to it.

        The item stays deleted for every write with a version up to
        ``version``; ``None`` means the deletion is final (no write can undo
        it). Deleting an item the index never saw still records the
        deletion, so its older events arriving later stay without effect.
        Returns False, changing nothing, when the index holds the item at
        ``version`` or newer. May wait for a commit in progress.
        """
        require_id(item_id, "item_id")
        at = MAX_VERSION if version is None else version
        if not 0 <= at <= MAX_VERSION:
            raise ValueError(f"version must be in 0..{MAX_VERSION}, got {version}")
        with self._lock:
            writer = self._open_writer()
            current = self._state(item_id)
            if current is not None and at <= current.version:
                return False
            writer.delete_documents_by_term(f.ITEM_ID, item_id)
            tombstone = tantivy.Document()
            tombstone.add_text(f.DOC_TYPE, f.TYPE_TOMBSTONE)
            tombstone.add_text(f.ITEM_ID, item_id)
            tombstone.add_unsigned(f.VERSION, at)
            writer.add_document(tombstone)
            # Children go with their parent. Tombstones store no parent_id, so
            # this removes live answers and comments only (staged ones too:
            # tantivy applies a delete to every document added before it).
            writer.delete_documents_by_query(
                tantivy.Query.boolean_query(
                    [
                        (tantivy.Occur.Must, self._term(f.PARENT_ID, item_id)),
                        (tantivy.Occur.Must, self._term(f.DOC_TYPE, f.TYPE_ITEM)),
                    ]
                )
            )
            self._pending[item_id] = _State(at, None)
            self._note_change()
            return True

    def record_position(self, topic: str, partition: int, next_offset: int) -> None:
        """Stage the consumer position reached: ``next_offset`` is the offset to read next.

        Recorded positions are committed atomically with the index changes
        staged before ``commit()``; a position never moves backwards (the
        larger offset wins) until ``clear()``.
        """
        if partition < 0 or next_offset < 0:
            raise ValueError("partition and next_offset must not be negative")
        with self._lock:
            self._open_writer()
            key = (topic, partition)
            self._pending_positions[key] = max(next_offset, self._pending_positions.get(key, 0))
            self._note_change()

    def positions(self) -> dict[tuple[str, int], int]:
        """The committed positions: ``(topic, partition) -> next offset to consume``.

        Empty for a new or cleared index: consume from the beginning.
        """
        return dict(self._positions)

    def clear(self) -> None:
        """Stage the removal of everything: documents, tombstones and positions.

        Searches keep seeing the old content until ``commit()``. May wait for
        a commit in progress.
        """
        with self._lock:
            writer = self._open_writer()
            writer.delete_all_documents()
            self._pending.clear()
            self._pending_positions.clear()
            self._cleared = True
            self._note_change()

    def commit(self) -> bool:
        """Make every staged change and position durable and visible to searches.

        Returns False when nothing was staged. When tantivy fails, the staged
        batch is rolled back and SearchIndexError raised; the index is as of
        the previous commit, and so are ``positions()``, so the caller
        resumes from there. Blocks for disk I/O (run it in a worker thread).
        """
        with self._lock:
            return self._commit()

    def rebuild(
        self,
        docs: Iterable[SearchDoc],
        *,
        positions: Mapping[tuple[str, int], int] | None = None,
    ) -> int:
        """Replace the whole index with ``docs`` (and ``positions``), in one commit.

        ``docs`` is a snapshot: one document per live item; if an item occurs
        more than once, the last occurrence wins. Searches see the old
        content until the final commit, then the new; nothing in between.
        Staged changes are discarded. Memory stays within the writer heap
        however many documents there are. Returns the number of documents
        indexed. Blocks for the whole rebuild (run it in a worker thread).
        """
        with self._lock:
            writer = self._open_writer()
            if self._changes:
                writer.rollback()
                self._reset_batch()
            writer.delete_all_documents()
            self._cleared = True
            self._note_change()
            count = 0
            try:
                for doc in docs:
                    writer.delete_documents_by_term(f.ITEM_ID, doc.item_id)
                    writer.add_document(self._to_tantivy(doc))
                    count += 1
            except BaseException:
                # Whatever went wrong (a bad snapshot, cancellation), the old
                # index stays as it was.
                writer.rollback()
                self._reset_batch()
                raise
            self._changes += count
            for (topic, partition), offset in (positions or {}).items():
                self._pending_positions[(topic, partition)] = offset
            self._commit()
            return count

    # ------------------------------------------------------------------ commit policy support

    @property
    def pending_changes(self) -> int:
        """How many changes are staged and not yet committed."""
        return self._changes

    def pending_age(self, now: float | None = None) -> float | None:
        """Seconds since the oldest staged change (``time.monotonic`` clock); None when none."""
        first = self._first_change_at
        if first is None:
            return None
        return (time.monotonic() if now is None else now) - first

    # ------------------------------------------------------------------ reads

    def get(self, item_id: str) -> SearchDoc | None:
        """The item as the index holds it, staged changes included.

        None when it is unknown or deleted, or when its parent is deleted.
        """
        with self._lock:
            state = self._effective(item_id)
        return None if state is None else state.doc

    def stats(self) -> IndexStats:
        """Document and segment counts of the committed index, and the staged change count."""
        searcher = self._index.searcher()
        return IndexStats(
            documents=searcher.num_docs,
            segments=searcher.num_segments,
            pending_changes=self._changes,
        )

    def search(
        self,
        query: str,
        *,
        readable_spaces: frozenset[str] | None,
        space: str | None = None,
        kinds: Collection[ItemKind] | None = None,
        tags: Collection[str] | None = None,
        author_id: str | None = None,
        unanswered_only: bool = False,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        limit: int = 20,
        offset: int = 0,
        snippets: bool = True,
    ) -> SearchPage:
        """Items matching ``query`` and every filter, best first, as of the last commit.

        ``query`` is untrusted user text, read as plain words (any query
        syntax in it is ignored; it never raises). An item matches when its
        title, body and tags together contain every distinct word (English
        stemming, case and accents ignored), or when its title equals the
        query. When no readable item matches so, items with at least half of
        the words match instead and the page says ``relaxed``. Exact-title
        matches rank first, then BM25 with title words weighing most. A query
        without words lists the matching items newest first, with score 0.

        Access: ``readable_spaces`` is the set of spaces the principal may
        read, and only items in those spaces are matched, ranked or counted.
        An empty set matches nothing. ``None`` means no restriction and is
        for service-internal callers only, never for a principal's request.

        Filters (all must hold): ``space`` (one space, still within
        ``readable_spaces``); ``kinds`` (any of them; an empty collection
        matches nothing); ``tags`` (all of them, case-insensitive);
        ``author_id``; ``unanswered_only`` (questions not answered);
        ``created_from`` (inclusive) and ``created_to`` (exclusive), both
        timezone-aware.

        Raises ValueError for ``limit`` outside 1..MAX_LIMIT, ``offset``
        outside 0..MAX_OFFSET, a naive datetime, or a kind that is not an
        ``ItemKind`` value. Does not take the writer
        lock; safe from any thread.
        """
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be in 1..{MAX_LIMIT}, got {limit}")
        if not 0 <= offset <= MAX_OFFSET:
            raise ValueError(f"offset must be in 0..{MAX_OFFSET}, got {offset}")
        start = None if created_from is None else require_aware(created_from, "created_from")
        end = None if created_to is None else require_aware(created_to, "created_to")

        filters = q.filters(
            self._schema,
            readable_spaces=readable_spaces,
            space=space,
            kinds=kinds,
            tags=tags,
            author_id=author_id,
            unanswered_only=unanswered_only,
            created_from_us=q.as_datetime_us(start),
            created_to_us=q.as_datetime_us(end),
        )
        if filters is None:
            return SearchPage()

        parsed = parse_user_query(query)
        searcher = self._index.searcher()
        if parsed.is_empty:
            browse = q.combine(tantivy.Query.all_query(), filters)
            result = searcher.search(
                browse,
                limit,
                count=True,
                offset=offset,
                order_by_field=f.CREATED_US,
                order=tantivy.Order.Desc,
            )
            hits = [
                q.to_hit(searcher.doc(address), score=0.0, generator=None, snippets=snippets)
                for _, address in result.hits
            ]
            return SearchPage(hits=hits, total=_count(result))

        relaxed = False
        full = q.combine(q.relevance(self._schema, parsed, relaxed=False), filters)
        result = searcher.search(full, limit, count=True, offset=offset)
        if not _count(result) and len(parsed.terms) >= 2:
            # Nothing readable has every word: fall back to items with half of them.
            relaxed = True
            full = q.combine(q.relevance(self._schema, parsed, relaxed=True), filters)
            result = searcher.search(full, limit, count=True, offset=offset)
        generator = None
        if snippets and parsed.terms:
            generator = q.snippet_generator(searcher, self._schema, full)
        hits = [
            q.to_hit(
                searcher.doc(address),
                score=float(score),
                generator=generator,
                snippets=snippets,
            )
            for score, address in result.hits
        ]
        return SearchPage(hits=hits, total=_count(result), relaxed=relaxed)

    # ------------------------------------------------------------------ internals: writing

    def _open_writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            raise SearchIndexClosed("the search index is closed")
        return self._writer

    def _note_change(self) -> None:
        self._changes += 1
        if self._first_change_at is None:
            self._first_change_at = time.monotonic()

    def _reset_batch(self) -> None:
        self._pending.clear()
        self._pending_positions.clear()
        self._changes = 0
        self._first_change_at = None
        self._cleared = False

    def _stage_doc(self, writer: tantivy.IndexWriter, doc: SearchDoc) -> None:
        # Replaces the live document or the tombstone of this id: tantivy applies
        # the delete to documents added before it, never to the one added after.
        writer.delete_documents_by_term(f.ITEM_ID, doc.item_id)
        writer.add_document(self._to_tantivy(doc))
        self._pending[doc.item_id] = _State(doc.version, doc)
        self._note_change()

    def _commit(self) -> bool:
        writer = self._open_writer()
        if not self._changes:
            return False
        positions = {} if self._cleared else dict(self._positions)
        for key, offset in self._pending_positions.items():
            positions[key] = max(offset, positions.get(key, 0))
            topic, partition = key
            position_id = f"{_POSITION_SEPARATOR}{topic}{_POSITION_SEPARATOR}{partition}"
            writer.delete_documents_by_term(f.ITEM_ID, position_id)
            doc = tantivy.Document()
            doc.add_text(f.DOC_TYPE, f.TYPE_POSITION)
            doc.add_text(f.ITEM_ID, position_id)
            doc.add_text(f.POSITION_TOPIC, topic)
            doc.add_unsigned(f.POSITION_PARTITION, partition)
            doc.add_unsigned(f.VERSION, positions[key])
            writer.add_document(doc)
        try:
            writer.commit()
        except (OSError, ValueError, RuntimeError) as exc:
            try:
                writer.rollback()
            finally:
                self._reset_batch()
            raise SearchIndexError(f"search index commit failed, batch rolled back: {exc}") from exc
        self._index.reload()
        self._positions = positions
        self._reset_batch()
        return True

    def _to_tantivy(self, doc: SearchDoc) -> tantivy.Document:
        out = tantivy.Document()
        out.add_text(f.DOC_TYPE, f.TYPE_ITEM)
        out.add_text(f.ITEM_ID, doc.item_id)
        out.add_text(f.SPACE_ID, doc.space_id)
        out.add_text(f.KIND, doc.kind.value)
        out.add_text(f.TITLE, doc.title)
        key = exact_key(doc.title)
        if key:
            out.add_text(f.TITLE_KEY, key)
        out.add_text(f.BODY, doc.body)
        for tag in doc.tags:
            out.add_text(f.TAGS, tag)
            out.add_text(f.TAG_KEY, tag_key(tag))
        out.add_text(f.AUTHOR_ID, doc.author_id)
        if doc.parent_id is not None:
            out.add_text(f.PARENT_ID, doc.parent_id)
        out.add_boolean(f.ANSWERED, doc.answered)
        out.add_integer(f.CREATED_US, f.to_micros(doc.created_at))
        out.add_unsigned(f.VERSION, doc.version)
        return out

    # ------------------------------------------------------------------ internals: reading state

    def _state(self, item_id: str) -> _State | None:
        """What the index holds for ``item_id``: staged first, then committed."""
        staged = self._pending.get(item_id)
        if staged is not None or self._cleared:
            return staged
        searcher = self._index.searcher()
        # Only an item or its tombstone carries this id (position ids cannot
        # collide), and never both once committed. A bare term query: combining
        # it with a doc_type clause would cost a hundred times more.
        hits = searcher.search(self._term(f.ITEM_ID, item_id), 1, count=False).hits
        if not hits:
            return None
        stored = searcher.doc(hits[0][1]).to_dict()
        version = int(stored[f.VERSION][0])
        doc_type = stored[f.DOC_TYPE][0]
        if doc_type == f.TYPE_TOMBSTONE:
            return _State(version, None)
        if doc_type != f.TYPE_ITEM:
            return None  # bookkeeping (a position), reachable only through a non-id key
        return _State(version, self._from_stored(stored))

    def _effective(self, item_id: str) -> _State | None:
        """Like ``_state``, but an answer or comment whose parent is deleted counts as absent."""
        state = self._state(item_id)
        if state is None or state.doc is None or state.doc.parent_id is None:
            return state
        parent = self._state(state.doc.parent_id)
        if parent is not None and parent.doc is None:
            return None
        return state

    @staticmethod
    def _from_stored(stored: Mapping[str, list[Any]]) -> SearchDoc:
        def first(name: str, default: Any = None) -> Any:
            values = stored.get(name)
            return values[0] if values else default

        return SearchDoc(
            item_id=first(f.ITEM_ID),
            space_id=first(f.SPACE_ID),
            kind=ItemKind(first(f.KIND)),
            title=first(f.TITLE, ""),
            body=first(f.BODY, ""),
            tags=tuple(stored.get(f.TAGS, ())),
            author_id=first(f.AUTHOR_ID),
            created_at=f.from_micros(int(first(f.CREATED_US))),
            version=int(first(f.VERSION)),
            answered=bool(first(f.ANSWERED, False)),
            parent_id=first(f.PARENT_ID),
        )

    def _read_positions(self, searcher: tantivy.Searcher) -> dict[tuple[str, int], int]:
        query = self._term(f.DOC_TYPE, f.TYPE_POSITION)
        count = _count(searcher.search(query, 1, count=True))
        if not count:
            return {}
        positions = {}
        for _, address in searcher.search(query, count, count=False).hits:
            stored = searcher.doc(address).to_dict()
            key = (str(stored[f.POSITION_TOPIC][0]), int(stored[f.POSITION_PARTITION][0]))
            positions[key] = int(stored[f.VERSION][0])
        return positions

    def _term(self, field: str, value: str) -> tantivy.Query:
        return q.term(self._schema, field, value)
