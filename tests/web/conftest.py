from tests.web.fixtures import (  # noqa: F401
    manager,
    manager_client,
    manager_role,
    staff,
    staff_client,
)
