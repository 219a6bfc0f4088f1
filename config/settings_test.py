"""Settings for the test suite (pytest's DJANGO_SETTINGS_MODULE): the real settings, with a
key of its own, plain HTTP on loopback, and staff two-factor off (its own tests turn it on).

Set in the environment before the settings are read, so that the servers the tests start
in subprocesses (``manage.py serve``, uvicorn) inherit them.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "izonie-tests-only-key-never-used-outside-tests")
os.environ.setdefault("IZONIE_HTTPS", "0")
# Servers in subprocesses too: an agent signed in by a test has no authenticator app.
os.environ.setdefault("IZONIE_STAFF_2FA_REQUIRED", "0")

from config.settings import *  # noqa: F403
