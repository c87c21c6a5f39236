"""Case numbers stay unique when many agents open cases at the same moment."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from accord.service.models import Case
from accord.service.services import cases

CREATORS = 8
CASES_EACH = 5


@pytest.mark.django_db(transaction=True)
def test_case_numbers_are_unique_under_concurrent_creators(admin, on_postgres):
    if not on_postgres:
        pytest.skip("SQLite serialises writers at BEGIN IMMEDIATE; the race needs PostgreSQL")
    start = threading.Barrier(CREATORS)

    def create(worker: int) -> list[int]:
        try:
            start.wait(timeout=30)
            numbers = []
            for index in range(CASES_EACH):
                case = cases.create(actor=admin, data={"subject": f"Agent {worker} #{index}"})
                numbers.append(case.number)
            return numbers
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=CREATORS) as pool:
        drawn = [n for numbers in pool.map(create, range(CREATORS)) for n in numbers]

    total = CREATORS * CASES_EACH
    assert len(set(drawn)) == total
    assert sorted(drawn) == list(range(min(drawn), min(drawn) + total))
    assert sorted(Case.objects.values_list("number", flat=True)) == sorted(drawn)
