# The docs page is driven in the same headless Chromium, against the same live shop, as
# the front end's browser tests.
from tests.frontend.conftest import browser, shop  # noqa: F401
