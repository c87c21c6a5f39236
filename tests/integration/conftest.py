"""Fixtures of the integration tests."""

from __future__ import annotations

from typing import Any

import pytest

from accord.integration import sequencer, sync


@pytest.fixture
def relay_numbers_events(db, monkeypatch):
    """Number the outbox before each sync pull, as the relay running beside the server does:
    an incremental pull then compares only the records of events numbered after its last
    pass began (ADR 0011). Unnumbered events count as new, so without this every record a
    test made would be compared again, and the narrowing would go untested."""
    pull = sync.pull

    def numbered_first(*args: Any, **kwargs: Any) -> Any:
        assert sequencer.hold("tests", seconds=60)
        while sequencer.number("tests", batch=1000):
            pass
        return pull(*args, **kwargs)

    monkeypatch.setattr(sync, "pull", numbered_first)
