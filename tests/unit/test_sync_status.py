"""The sync status machine and the deletion guard."""

from __future__ import annotations

import pytest

from brx_domain.errors import DeletionGuardTripped
from brx_domain.sync import (
    SyncStatus,
    can_transition,
    check_deletion_guard,
    sources_for,
)

IDLE, INITIAL, ACTIVE, ERROR = (
    SyncStatus.IDLE,
    SyncStatus.INITIAL_SYNC,
    SyncStatus.ACTIVE,
    SyncStatus.ERROR,
)


@pytest.mark.parametrize(
    ("current", "target"),
    [(IDLE, INITIAL), (INITIAL, ACTIVE), (INITIAL, ERROR), (ACTIVE, INITIAL), (ERROR, INITIAL)],
)
def test_legal_moves_are_allowed(current: SyncStatus, target: SyncStatus) -> None:
    assert can_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [(IDLE, ACTIVE), (IDLE, ERROR), (ACTIVE, ERROR), (INITIAL, INITIAL), (ERROR, ACTIVE)],
)
def test_illegal_moves_are_refused(current: SyncStatus, target: SyncStatus) -> None:
    assert not can_transition(current, target)


def test_force_lets_a_stuck_initial_sync_start_again() -> None:
    assert not can_transition(INITIAL, INITIAL)
    assert can_transition(INITIAL, INITIAL, force=True)


def test_sources_for_a_new_sync_exclude_a_running_one_unless_forced() -> None:
    assert sources_for(INITIAL) == {IDLE, ACTIVE, ERROR}
    assert sources_for(INITIAL, force=True) == set(SyncStatus)


def test_the_deletion_guard_refuses_deleting_most_of_an_inventory() -> None:
    with pytest.raises(DeletionGuardTripped, match="force=true"):
        check_deletion_guard(60, 100, 0.5, force=False)


@pytest.mark.parametrize(
    ("to_delete", "total", "force"), [(60, 100, True), (50, 100, False), (9, 9, False)]
)
def test_the_deletion_guard_allows_small_forced_or_tiny_deletions(
    to_delete: int, total: int, force: bool
) -> None:
    assert check_deletion_guard(to_delete, total, 0.5, force=force) is None  # no refusal
