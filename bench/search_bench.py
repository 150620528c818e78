"""Benchmark of the post service's search index (tantivy, in process).

Run: ``.venv/bin/python -m bench.search_bench --docs 100000``

Indexes N synthetic items (Zipf-distributed words, titles, Markdown-ish
bodies, tags; questions, answers, comments, ...) spread over many spaces, then
reports:

- bulk indexing throughput (``rebuild``: what a replica does at start-up),
- incremental throughput (``upsert`` + version check, committed in batches as
  the event consumer would) and commit latency,
- query latency p50/p99 per principal shape: an employee who reads 50
  spaces, a partner who reads 5, an employee who reads every open community
  (thousands of spaces), and the unrestricted internal view; each with a
  mix of one-, two- and three-word queries, exact titles of readable items,
  queries no item fully matches (the relaxed path), filtered and word-less
  (browse) queries, snippets on, as the service calls it.

Every phase is bounded by ``--budget`` seconds of wall time. No network.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

from guildhall_post.search import ItemKind, SearchDoc, SearchIndex, SearchPage

T0 = datetime(2025, 1, 1, tzinfo=UTC)
KIND_WEIGHTS = {
    ItemKind.DISCUSSION: 30,
    ItemKind.QUESTION: 20,
    ItemKind.ANSWER: 20,
    ItemKind.COMMENT: 20,
    ItemKind.IDEA: 5,
    ItemKind.WIKI: 4,
    ItemKind.ANNOUNCEMENT: 1,
}
Titles = dict[str, list[str]]
"""Some titles of each space, for exact-title queries."""
SYLLABLES = ["ka", "ro", "mi", "tu", "se", "la", "ven", "dor", "pli", "qua"]
SYLLABLES += ["stre", "mon", "fi", "gal", "ter", "bo", "nu", "zan", "ex", "cal"]
BATCH = 500
"""Upserts per commit in the incremental phases (the consumer's batch)."""


@dataclass
class Corpus:
    """Deterministic synthetic content."""

    rng: random.Random
    vocab: list[str]
    cum: list[float]
    spaces: list[str]
    space_cum: list[float]
    tags: list[str]

    @classmethod
    def make(cls, seed: int, vocab_size: int, spaces: int) -> Corpus:
        rng = random.Random(seed)
        vocab: list[str] = []
        seen: set[str] = set()
        while len(vocab) < vocab_size:
            word = "".join(rng.choices(SYLLABLES, k=rng.randint(2, 4)))
            if word not in seen:
                seen.add(word)
                vocab.append(word)
        cum = list(accumulate(1.0 / (rank + 1) ** 1.07 for rank in range(vocab_size)))
        space_ids = [f"space-{i:06}" for i in range(spaces)]
        # Space sizes are skewed too: a few big communities, a long tail.
        space_cum = list(accumulate(1.0 / (rank + 1) ** 0.8 for rank in range(spaces)))
        tags = [f"{vocab[i]}-{vocab[i + 1]}" for i in range(100, 700, 2)]
        return cls(rng, vocab, cum, space_ids, space_cum, tags)

    def words(self, k: int) -> list[str]:
        return self.rng.choices(self.vocab, cum_weights=self.cum, k=k)

    def mid_word(self) -> str:
        """A word of middling frequency, the kind people search for."""
        return self.vocab[self.rng.randrange(50, min(5000, len(self.vocab)))]

    def docs(self, n: int, titles: Titles, start: int = 0) -> Iterator[SearchDoc]:
        kinds = list(KIND_WEIGHTS)
        weights = list(KIND_WEIGHTS.values())
        parents: list[tuple[str, str]] = []
        for i in range(start, start + n):
            kind = self.rng.choices(kinds, weights)[0]
            parent: tuple[str, str] | None = None
            if kind in (ItemKind.ANSWER, ItemKind.COMMENT):
                if parents:
                    parent = self.rng.choice(parents)
                else:
                    kind = ItemKind.DISCUSSION
            space = (
                parent[1]
                if parent
                else self.rng.choices(self.spaces, cum_weights=self.space_cum)[0]
            )
            title = "" if parent else " ".join(self.words(self.rng.randint(3, 9))).capitalize()
            paragraphs = [
                " ".join(self.words(self.rng.randint(15, 60)))
                for _ in range(self.rng.randint(1, 4))
            ]
            doc = SearchDoc(
                item_id=f"item-{i:09}",
                space_id=space,
                kind=kind,
                title=title,
                body="\n\n".join(paragraphs),
                tags=tuple(self.rng.sample(self.tags, self.rng.randint(0, 3))),
                author_id=f"person-{self.rng.randrange(400_000):06}",
                created_at=T0 + timedelta(seconds=i * 30),
                version=1,
                answered=kind is ItemKind.QUESTION and self.rng.random() < 0.6,
                parent_id=parent[0] if parent else None,
            )
            if not parent:
                if len(parents) < 50_000:
                    parents.append((doc.item_id, space))
                else:
                    parents[self.rng.randrange(len(parents))] = (doc.item_id, space)
                in_space = titles.setdefault(space, [])
                if len(in_space) < 10:
                    in_space.append(title)
            yield doc


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Scenario:
    name: str
    readable: frozenset[str] | None


def run_queries(
    index: SearchIndex,
    corpus: Corpus,
    titles: Titles,
    scenario: Scenario,
    *,
    queries: int,
    deadline: float,
) -> tuple[dict[str, list[float]], list[int]]:
    rng = corpus.rng
    readable_list = sorted(scenario.readable) if scenario.readable is not None else None
    # People mostly look up titles they can read; an unreadable one takes the typo path.
    spaces = readable_list if readable_list is not None else list(titles)
    known_titles = [t for space in spaces for t in titles.get(space, ())]
    known_titles = known_titles or [t for ts in titles.values() for t in ts]

    def one_word() -> SearchPage:
        return index.search(corpus.mid_word(), readable_spaces=scenario.readable)

    def two_words() -> SearchPage:
        q = f"{corpus.mid_word()} {corpus.mid_word()}"
        return index.search(q, readable_spaces=scenario.readable)

    def three_words() -> SearchPage:
        q = " ".join(corpus.mid_word() for _ in range(3))
        return index.search(q, readable_spaces=scenario.readable)

    def exact_title() -> SearchPage:
        return index.search(rng.choice(known_titles), readable_spaces=scenario.readable)

    def typo() -> SearchPage:
        # No item has every word: the relaxed (half the words) path.
        q = f"{corpus.mid_word()} {corpus.mid_word()} qzxv"
        return index.search(q, readable_spaces=scenario.readable)

    def filtered() -> SearchPage:
        space = rng.choice(readable_list) if readable_list else None
        return index.search(
            corpus.mid_word(),
            readable_spaces=scenario.readable,
            space=space if rng.random() < 0.5 else None,
            kinds=[ItemKind.QUESTION],
            unanswered_only=True,
        )

    def browse() -> SearchPage:
        return index.search("", readable_spaces=scenario.readable, kinds=[ItemKind.QUESTION])

    mix: list[tuple[str, Callable[[], SearchPage], int]] = [
        ("1 word", one_word, 30),
        ("2 words", two_words, 30),
        ("3 words", three_words, 10),
        ("exact title", exact_title, 10),
        ("typo", typo, 5),
        ("filtered", filtered, 10),
        ("browse", browse, 5),
    ]
    latencies: dict[str, list[float]] = {name: [] for name, _, _ in mix}
    totals: list[int] = []
    for _ in range(queries):
        if time.perf_counter() > deadline:
            break
        name, fn, _ = rng.choices(mix, [w for *_, w in mix])[0]
        started = time.perf_counter()
        page = fn()
        latencies[name].append((time.perf_counter() - started) * 1000)
        totals.append(page.total)
    return latencies, totals


def bulk_phase(index: SearchIndex, corpus: Corpus, titles: Titles, args: Args) -> int:
    """``rebuild`` from a stream of generated docs; generation time is measured and excluded."""
    gen_time = 0.0
    deadline = time.perf_counter() + args.budget

    def timed_docs() -> Iterator[SearchDoc]:
        nonlocal gen_time
        source = corpus.docs(args.docs, titles)
        while time.perf_counter() < deadline:  # bounded: stop feeding at the budget
            started = time.perf_counter()
            try:
                doc = next(source)
            except StopIteration:
                return
            gen_time += time.perf_counter() - started
            yield doc

    started = time.perf_counter()
    indexed = index.rebuild(timed_docs())
    elapsed = time.perf_counter() - started - gen_time
    print(
        f"bulk rebuild: {indexed} docs in {elapsed:.1f}s (plus {gen_time:.1f}s generating) "
        f"= {indexed / elapsed:,.0f} docs/s"
    )
    return indexed


def incremental_phase(
    index: SearchIndex, corpus: Corpus, titles: Titles, args: Args, start: int
) -> list[SearchDoc]:
    """``upsert`` one by one with a commit every ``BATCH``, as the event consumer does."""
    fresh = list(corpus.docs(args.incremental, titles, start=start))
    commit_ms: list[float] = []
    deadline = time.perf_counter() + args.budget
    started = time.perf_counter()
    done = 0
    for i, doc in enumerate(fresh, 1):
        index.upsert(doc)
        done = i
        if i % BATCH == 0:
            c0 = time.perf_counter()
            index.commit()
            commit_ms.append((time.perf_counter() - c0) * 1000)
            if time.perf_counter() > deadline:
                break
    c0 = time.perf_counter()
    if index.commit():
        commit_ms.append((time.perf_counter() - c0) * 1000)
    elapsed = time.perf_counter() - started
    if done:
        print(
            f"incremental: {done} upserts (version-checked) in {elapsed:.1f}s "
            f"= {done / elapsed:,.0f} docs/s incl. a commit every {BATCH}; "
            f"commit p50 {percentile(commit_ms, 50):.1f} ms, "
            f"p99 {percentile(commit_ms, 99):.1f} ms"
        )
    redelivered = fresh[: min(1000, done)]
    started = time.perf_counter()
    ignored = sum(not index.upsert(d) for d in redelivered)
    elapsed = time.perf_counter() - started
    print(
        f"redelivery: {ignored}/{len(redelivered)} stale upserts ignored, "
        f"{elapsed / max(1, len(redelivered)) * 1e6:.0f} us each"
    )
    return fresh[done:]


def print_latencies(name: str, latencies: dict[str, list[float]], totals: list[int]) -> None:
    everything = [ms for values in latencies.values() for ms in values]
    for kind, values in [*latencies.items(), ("all", everything)]:
        if values:
            print(
                f"  {name:<32}{kind:<13}{len(values):>6}"
                f"{percentile(values, 50):>9.2f}{percentile(values, 99):>9.2f}"
                f"{max(values):>9.2f}"
            )
    if totals:
        print(f"  {name:<32}{'mean total':<13}{statistics.mean(totals):>6.0f}")


def query_phase(index: SearchIndex, corpus: Corpus, titles: Titles, args: Args) -> Scenario:
    """Query latency per principal shape; returns the employee scenario for the next phase."""
    rng = corpus.rng
    employee = Scenario("employee, 50 spaces", frozenset(rng.sample(corpus.spaces[:5000], 50)))
    scenarios = [
        Scenario("partner, 5 pinholes", frozenset(rng.sample(corpus.spaces[:2000], 5))),
        employee,
        Scenario(
            f"employee, {args.open_spaces} open spaces",
            frozenset(rng.sample(corpus.spaces, min(args.open_spaces, len(corpus.spaces)))),
        ),
        Scenario("internal, unrestricted", None),
    ]
    print(f"queries (limit 20, snippets on; up to {args.queries} per scenario):")
    print(f"  {'scenario':<32}{'kind':<13}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for scenario in scenarios:
        deadline = time.perf_counter() + args.budget / len(scenarios)
        latencies, totals = run_queries(
            index, corpus, titles, scenario, queries=args.queries, deadline=deadline
        )
        print_latencies(scenario.name, latencies, totals)
    return employee


def mixed_phase(
    index: SearchIndex,
    corpus: Corpus,
    titles: Titles,
    args: Args,
    *,
    scenario: Scenario,
    backlog: list[SearchDoc],
) -> None:
    """Queries while another thread indexes and commits: what a serving replica sees."""
    if not backlog:
        return
    stop = threading.Event()
    written = 0

    def writer() -> None:
        nonlocal written
        for i, doc in enumerate(backlog, 1):
            if stop.is_set():
                break
            index.upsert(doc)
            written = i
            if i % BATCH == 0:
                index.commit()
        index.commit()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.perf_counter() + args.budget / 4
        latencies, totals = run_queries(
            index, corpus, titles, scenario, queries=args.queries, deadline=deadline
        )
    finally:
        stop.set()
        thread.join()
    print(f"queries while indexing ({written} upserts in the background):")
    print_latencies(scenario.name + " +writes", latencies, totals)


@dataclass(frozen=True)
class Args:
    docs: int
    spaces: int
    open_spaces: int
    incremental: int
    queries: int
    vocab: int
    budget: float
    memory: bool
    heap_mb: int
    threads: int | None
    seed: int


def parse_args(argv: list[str] | None) -> Args:
    parser = argparse.ArgumentParser(prog="python -m bench.search_bench", description=__doc__)
    parser.add_argument("--docs", type=int, default=100_000, help="items to index in bulk")
    parser.add_argument("--spaces", type=int, default=20_000, help="spaces the items live in")
    parser.add_argument(
        "--open-spaces",
        type=int,
        default=5_000,
        help="spaces an employee reads in the 'all open communities' case",
    )
    parser.add_argument(
        "--incremental",
        type=int,
        default=20_000,
        help="items upserted one by one after the bulk load (half of them during queries)",
    )
    parser.add_argument("--queries", type=int, default=1_000, help="queries per scenario")
    parser.add_argument("--vocab", type=int, default=30_000, help="distinct words")
    parser.add_argument("--budget", type=float, default=120.0, help="seconds per phase, at most")
    parser.add_argument("--memory", action="store_true", help="index in RAM instead of a temp dir")
    parser.add_argument("--heap-mb", type=int, default=64, help="writer heap")
    parser.add_argument("--threads", type=int, default=None, help="writer threads")
    parser.add_argument("--seed", type=int, default=7)
    return Args(**vars(parser.parse_args(argv)))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    corpus = Corpus.make(args.seed, args.vocab, args.spaces)
    titles: Titles = {}
    tmp = None if args.memory else tempfile.TemporaryDirectory(prefix="guildhall-search-bench-")
    path = None if tmp is None else Path(tmp.name)
    print(
        f"search bench: {args.docs} docs, {args.spaces} spaces, vocabulary {args.vocab}, "
        f"{'memory' if path is None else 'disk ' + str(path)}, {os.cpu_count()} CPUs"
    )
    index = SearchIndex.open(
        path, writer_heap_bytes=args.heap_mb * 1024 * 1024, writer_threads=args.threads
    )
    try:
        indexed = bulk_phase(index, corpus, titles, args)
        half = replace(args, incremental=args.incremental // 2)
        backlog = incremental_phase(index, corpus, titles, half, start=indexed)
        backlog += list(corpus.docs(args.incremental - half.incremental, titles, start=10**8))
        stats = index.stats()
        size = "" if path is None else f", {dir_size(path) / 1e6:,.0f} MB on disk"
        print(
            f"index: {stats.documents} docs, {stats.segments} segments{size}, "
            f"peak RSS {rss_mb():,.0f} MB"
        )
        employee = query_phase(index, corpus, titles, args)
        mixed_phase(index, corpus, titles, args, scenario=employee, backlog=backlog)
    finally:
        index.close()
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
