"""The post service's employee rules agree with every employee cell of docs/access-model.md.

The read model decides employees' requests (partners are always asked of the
community service), so its rules must be exactly the community service's. The
table is parsed from the document, as the community service's own matrix test
does, so the two services cannot drift apart silently.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from guildhall_kit.errors import FailedPrecondition, NotFound, PermissionDenied
from guildhall_post.domain.access import (
    Action,
    CommunityFacts,
    CommunityState,
    PinholeFacts,
    PinholeState,
    Role,
    SpaceFacts,
    View,
    Visibility,
    check_item,
    check_space,
    employee_view,
)

DOC = Path(__file__).resolve().parents[4] / "docs" / "access-model.md"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LETTERS = {"R": Action.READ, "P": Action.POST, "C": Action.COMMENT, "M": Action.MODERATE}
LETTERS["A"] = Action.ADMINISTER
EMPLOYEE_COLUMNS: dict[str, tuple[bool, Role | None]] = {
    "home admin": (True, None),
    "owner": (False, Role.OWNER),
    "moderator": (False, Role.MODERATOR),
    "member": (False, Role.MEMBER),
    "non-member employee": (False, None),
}


def _rows() -> list[dict[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- access-matrix:begin -->")[1].split("<!-- access-matrix:end -->")[0]
    lines = [line.strip() for line in table.strip().splitlines() if line.strip()]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def _space(kind: str, state: str) -> SpaceFacts:
    visibility = Visibility(kind.split()[-2])
    archived = state in ("archived", "community archived")
    community = CommunityFacts(
        "c1", visibility, CommunityState.ARCHIVED if archived else CommunityState.ACTIVE
    )
    if not kind.startswith("pinhole"):
        return SpaceFacts(community)
    pinhole_state, ever_opened, expires = {
        "proposed": (PinholeState.PROPOSED, False, None),
        "open": (PinholeState.OPEN, True, None),
        "expired": (PinholeState.OPEN, True, NOW - timedelta(seconds=1)),
        "closed": (PinholeState.CLOSED, True, None),
        "grant revoked": (PinholeState.OPEN, True, None),
        "community archived": (PinholeState.OPEN, True, None),
        "withdrawn": (PinholeState.CLOSED, False, None),
    }[state]
    pinhole = PinholeFacts("p1", "c1", pinhole_state, ever_opened, expires)
    return SpaceFacts(community, pinhole)


def _expected(cell: str) -> View:
    if cell == "hidden":
        return View(visible=False, actions=frozenset())
    if cell == "none":
        return View(visible=True, actions=frozenset())
    return View(visible=True, actions=frozenset(LETTERS[c] for c in cell))


CASES = [
    (row["space"], row["state"], column, row[column])
    for row in _rows()
    for column in EMPLOYEE_COLUMNS
]


def test_the_table_was_found() -> None:
    assert len(CASES) == 27 * len(EMPLOYEE_COLUMNS)


@pytest.mark.parametrize(("kind", "state", "column", "cell"), CASES)
def test_employee_cell(kind: str, state: str, column: str, cell: str) -> None:
    is_admin, role = EMPLOYEE_COLUMNS[column]
    got = employee_view(is_admin=is_admin, role=role, space=_space(kind, state), now=NOW)
    want = _expected(cell)
    assert (got.visible, got.actions) == (want.visible, want.actions)


def test_errors_follow_visibility_then_state_then_rights() -> None:
    gone = NotFound("post", "x")
    hidden = View(visible=False, actions=frozenset())
    with pytest.raises(NotFound):
        check_space(hidden, Action.READ, gone)
    card_only = View(visible=True, actions=frozenset())
    with pytest.raises(PermissionDenied):
        check_space(card_only, Action.READ, gone)
    # An item in a space whose content the caller may not read does not exist for them.
    with pytest.raises(NotFound) as info:
        check_item(card_only, Action.READ, gone)
    assert info.value is gone
    archived = View(visible=True, actions=frozenset({Action.READ}), read_only=True)
    with pytest.raises(FailedPrecondition):
        check_space(archived, Action.POST, gone)
    reader = View(visible=True, actions=frozenset({Action.READ}))
    with pytest.raises(PermissionDenied):
        check_item(reader, Action.COMMENT, gone)
    check_item(reader, Action.READ, gone)
