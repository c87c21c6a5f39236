"""WSGI entry point served by granian (``accord serve``)."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accord.settings")

application = get_wsgi_application()

# Build the URL configuration (every router and schema) now rather than on the first request,
# then move everything start-up made out of the garbage collector's sight: otherwise each full
# collection walks those ~170,000 long-lived objects again, stalling a request for 130-150 ms
# every twenty or so requests.
get_resolver().url_patterns  # noqa: B018 - evaluated for its side effect
gc.collect()
gc.freeze()
