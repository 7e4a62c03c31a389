"""The server's limits and defaults: a leaf module, with no FastAPI, torch or model import.

The request schemas (:mod:`malmoi.serve.schema`) and the app read the limits; the process that
runs ``malmoi serve`` (:mod:`malmoi.serve._server`, which never imports torch) reads the
defaults. Each module imports them from here, so none imports another for a constant.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_ALLOWED_HOSTS", "DEFAULT_KEEP_ALIVE_TIMEOUT", "DEFAULT_READ_TIMEOUT", "MAX_BODY_BYTES", "MAX_TEXT_CHARS",
    "MAX_USER_ID_CHARS",
]

MAX_TEXT_CHARS = 1000  # longer is not a chat message; the network reads 64 tokens anyway
MAX_USER_ID_CHARS = 200
MAX_BODY_BYTES = 64 * 1024  # a 1000-character message is at most ~12 kB of JSON

# Host headers answered by default: names of this machine's loopback, which a DNS-rebinding page
# (evil.example resolving to 127.0.0.1) cannot send. `malmoi serve` adds its --host.
DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "::1")
# Seconds a request's headers, and then its body, may take to arrive (a 64 KiB body needs only
# 6.4 kB/s); a client that stalls would otherwise hold its connection, and memory, forever.
DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_KEEP_ALIVE_TIMEOUT = 5  # uvicorn's own default, stated
