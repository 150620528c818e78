"""The tantivy schema of the search index, and the field names used everywhere else.

Bump :data:`SCHEMA_VERSION` whenever :func:`build_schema` or the analyzer
changes in a way that makes existing segments wrong: an on-disk index lives
in a directory named after the version, so a new version starts empty and is
rebuilt from the topic instead of being read with the wrong schema.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

import tantivy

from guildhall_post.search.analysis import ANALYZER

SCHEMA_VERSION: Final = 1

# What a stored document is. Only "item" documents are ever returned by search.
DOC_TYPE: Final = "doc_type"
TYPE_ITEM: Final = "item"
TYPE_TOMBSTONE: Final = "tombstone"  # a deleted item: remembers its version so it stays deleted
TYPE_POSITION: Final = "position"  # the next offset to consume from one topic partition

ITEM_ID: Final = "item_id"
SPACE_ID: Final = "space_id"
KIND: Final = "kind"
TITLE: Final = "title"
TITLE_KEY: Final = "title_key"
BODY: Final = "body"
TAGS: Final = "tags"
TAG_KEY: Final = "tag_key"
AUTHOR_ID: Final = "author_id"
PARENT_ID: Final = "parent_id"
ANSWERED: Final = "answered"
CREATED_US: Final = "created_us"
VERSION: Final = "version"
POSITION_TOPIC: Final = "position_topic"
POSITION_PARTITION: Final = "position_partition"


def build_schema() -> tantivy.Schema:
    """The schema. Every field needed to rebuild a SearchDoc is stored, so partial
    updates (``patch``) can rewrite a document from the index alone."""
    b = tantivy.SchemaBuilder()
    # Identifiers and filter keys: one exact term each, no positions needed.
    for name in (DOC_TYPE, ITEM_ID, SPACE_ID, KIND, AUTHOR_ID, PARENT_ID, POSITION_TOPIC):
        b.add_text_field(name, stored=True, tokenizer_name="raw", index_option="basic")
    b.add_text_field(TITLE_KEY, stored=False, tokenizer_name="raw", index_option="basic")
    b.add_text_field(TAG_KEY, stored=False, tokenizer_name="raw", index_option="basic")
    # Full text. The title keeps positions for the phrase boost; body and tags
    # only need term frequencies for BM25, which keeps the index smaller.
    b.add_text_field(TITLE, stored=True, tokenizer_name=ANALYZER, index_option="position")
    b.add_text_field(BODY, stored=True, tokenizer_name=ANALYZER, index_option="freq")
    b.add_text_field(TAGS, stored=True, tokenizer_name=ANALYZER, index_option="freq")
    b.add_boolean_field(ANSWERED, stored=True, indexed=True)
    # Microseconds since the epoch: exact to what the service stores, and a fast
    # field so that browsing without words can sort newest first.
    b.add_integer_field(CREATED_US, stored=True, indexed=True, fast=True)
    b.add_unsigned_field(VERSION, stored=True)
    b.add_unsigned_field(POSITION_PARTITION, stored=True)
    return b.build()


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(at: datetime) -> int:
    """An aware datetime as whole microseconds since the epoch (how ``created_us`` stores it)."""
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(us: int) -> datetime:
    """The UTC datetime of ``to_micros``' value; exact, no float rounding."""
    return _EPOCH + timedelta(microseconds=us)
