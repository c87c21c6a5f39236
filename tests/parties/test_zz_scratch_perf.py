from django.db import connection
from django.test.utils import CaptureQueriesContext


def test_count_create_queries(admin, admin_api):
    admin_api.post("/api/v1/contacts", {"first_name": "X", "emails": ["x0@example.org"]})
    with CaptureQueriesContext(connection) as ctx:
        r = admin_api.post("/api/v1/contacts", {"first_name": "Y", "emails": ["y@example.org"]})
    assert r.status_code == 201, r.content
    for q in ctx.captured_queries:
        print(q["sql"][:200])
    print(len(ctx.captured_queries))
