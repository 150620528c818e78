"""``python -m bench`` (``make bench-services``): every service benchmark, with figures.

A benchmark is a module of this package whose docstring starts with
"Benchmark" (``access_bench``, ``search_bench``, ...); each runs as its own
process, ``python -m bench.<name>`` with no arguments, one after the other, so
one's memory and threads never skew another's figures. ``python -m bench NAME
...`` runs only those named. The exit status is non-zero if any failed.

Seeding tools and demo data (``bench.seed``, ``bench.demo``) are not
benchmarks and are not run; nor is the platform benchmark (``bench.mix``, ``make
bench``), which drives the whole stack and runs on its own.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmarks() -> list[str]:
    """The benchmark modules of this package, by name."""
    found = []
    for path in sorted(HERE.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        if docstring.startswith("Benchmark"):
            found.append(path.stem)
    return found


def main(argv: list[str] | None = None) -> int:
    names = list(sys.argv[1:] if argv is None else argv) or benchmarks()
    unknown = sorted(set(names) - set(benchmarks()))
    if unknown:
        print(f"not benchmarks: {', '.join(unknown)}; known: {', '.join(benchmarks())}")
        return 2
    failed = []
    for name in names:
        print(f"==> bench.{name}", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, "-m", f"bench.{name}"])  # noqa: S603 - our own modules
        print(
            f"<== bench.{name}: exit {code} after {time.perf_counter() - started:.0f}s", flush=True
        )
        if code != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
