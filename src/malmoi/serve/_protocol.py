"""uvicorn's httptools protocol with a deadline for request headers.

uvicorn closes an idle keep-alive connection after ``timeout_keep_alive``, but it has no deadline
for a request's headers: a client that connects and sends nothing, or sends its headers a byte at
a time (slowloris), holds the connection and its buffers for as long as it likes. Here each
request's headers must arrive within ``read_timeout`` seconds (``malmoi serve --read-timeout``,
from the settings the runner puts in the environment) of the connection opening or of their first
byte; otherwise the connection is closed. The body has the same deadline, kept by the app
(:class:`malmoi.serve.middleware.BodyLimit`) so that it answers 408.

uvicorn loads this class by import string (``http="malmoi.serve._protocol:..."``), in each worker.
"""

from __future__ import annotations

import asyncio
import functools
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from malmoi.serve.settings import ENV_SETTINGS, ServeSettings

__all__ = ["HttpToolsWithHeaderTimeout"]


@functools.cache
def _header_timeout(settings_json: str | None) -> float | None:
    """The settings' ``read_timeout``, read once per process (each connection makes a protocol)."""
    return ServeSettings.model_validate_json(settings_json).read_timeout if settings_json else None


class HttpToolsWithHeaderTimeout(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout = _header_timeout(os.environ.get(ENV_SETTINGS))
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()  # a connection that never sends a byte is closed too

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:  # the next request on a keep-alive connection
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if self._header_timeout is not None:
            self._header_timer = self.loop.call_later(self._header_timeout, self._headers_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_timed_out(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()
