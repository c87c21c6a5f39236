from tests.web.fixtures import (  # noqa: F401
    manager,
    manager_client,
    manager_role,
    staff,
    staff_client,
)

# The browser fixtures (Playwright on Debian's Chromium, axe-core) for every test_browser_* file.
from tests.web.test_browser import axe_source, browser_page  # noqa: F401
