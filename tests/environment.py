"""A pytest plugin loaded before Django (`-p tests.environment`): the test environment.

Tests run the production settings (DEBUG off); only what a test client cannot do
(HTTPS) and what has no safe default (SECRET_KEY) are set here, and only when the
caller has not set them.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 32)
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# E-mail tasks run inside the request, so a test sees the mail at once; tests of the queue
# itself switch to the database backend and run the worker.
os.environ.setdefault("TASKS_BACKEND", "immediate")
