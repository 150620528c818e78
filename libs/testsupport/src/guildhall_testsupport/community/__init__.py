"""Test support: the access table of docs/access-model.md, read as data.

The unit matrix (``services/community/tests/unit``) and the integration matrix
(``tests/integration/test_community_access_matrix.py``) both read the table
between the ``access-matrix`` markers with :func:`read_access_table`, so the
written model is the one both check.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from guildhall_community.domain import Action

PRINCIPALS: Final = (
    "home admin",
    "owner",
    "moderator",
    "member",
    "non-member employee",
    "partner viewer",
    "partner contributor",
    "partner, org not granted",
    "partner, org suspended",
)
"""The table's principal columns, in order."""

LETTERS: Final = {
    "R": Action.READ,
    "P": Action.POST,
    "C": Action.COMMENT,
    "M": Action.MODERATE,
    "A": Action.ADMINISTER,
}
"""The letters a cell uses for each action."""

HIDDEN: Final = "hidden"
"""A cell for an invisible space: every action is NOT_FOUND."""
NONE: Final = "none"
"""A cell for a visible space where every action is PERMISSION_DENIED."""

Table = dict[tuple[str, str], tuple[str, ...]]
"""(space, state) -> one cell per principal, in :data:`PRINCIPALS` order."""


def access_model_path(start: Path) -> Path:
    """docs/access-model.md of the repository that contains ``start``.

    Raises:
        FileNotFoundError: no parent of ``start`` has it.
    """
    for parent in (start, *start.parents):
        candidate = parent / "docs" / "access-model.md"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no docs/access-model.md above {start}")


def read_access_table(path: Path) -> Table:
    """The table between the markers of ``path``, checked for shape.

    Raises:
        AssertionError: no markers, columns other than :data:`PRINCIPALS`, a
            repeated row, or a malformed cell.
    """
    text = path.read_text(encoding="utf-8")
    match = re.search(
        r"<!-- access-matrix:begin -->\n(.*?)<!-- access-matrix:end -->", text, re.DOTALL
    )
    assert match, f"no access matrix markers in {path}"
    lines = [ln.strip() for ln in match.group(1).strip().splitlines()]
    rows = [[cell.strip() for cell in ln.strip("|").split("|")] for ln in lines]
    header, separator, *body = rows
    assert header[:2] == ["space", "state"]
    assert tuple(header[2:]) == PRINCIPALS, "the document's columns are not the principals tested"
    assert all(set(cell) <= {"-"} for cell in separator)
    table: Table = {}
    for row in body:
        key = (row[0], row[1])
        assert key not in table, f"row {key} appears twice in the document"
        cells = tuple(row[2:])
        assert len(cells) == len(PRINCIPALS), f"row {key} has {len(cells)} cells"
        for cell in cells:
            assert cell in {HIDDEN, NONE} or (cell and set(cell) <= set(LETTERS)), cell
        table[key] = cells
    return table


def allowed(cell: str) -> frozenset[Action]:
    """The actions a cell allows (none for ``hidden`` and ``none``)."""
    if cell in {HIDDEN, NONE}:
        return frozenset()
    return frozenset(LETTERS[c] for c in cell)
