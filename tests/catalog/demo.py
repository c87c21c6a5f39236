"""A demo context for the domain demo tests: seeded Faker, progress counted, no terminal."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from faker import Faker

from accord.core.demo import SIZES, Advance, DemoContext


def demo_context(actor: Any, **size: int) -> tuple[DemoContext, Counter[str]]:
    """A context of the tiny size with ``size`` overrides, and the progress it reports."""
    done: Counter[str] = Counter()

    def progress(label: str, total: int) -> Advance:
        def advance(n: int) -> None:
            done[label] += n

        return advance

    faker = Faker()
    faker.seed_instance(1234)
    ctx = DemoContext(
        size=dataclasses.replace(SIZES["tiny"], **size), faker=faker, actor=actor, progress=progress
    )
    return ctx, done
