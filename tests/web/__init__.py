import pytest

# The page tests of other domains load tests.web.fixtures as a plugin; its helpers assert.
pytest.register_assert_rewrite("tests.web.fixtures")
