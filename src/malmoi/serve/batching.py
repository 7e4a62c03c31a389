"""Dynamic batching of parses: one thread per process parses whatever requests are waiting."""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from malmoi.model.result import ParseResult

__all__ = ["ParseBatcher", "Parser"]


class Parser(Protocol):
    """What the batcher needs of a model (:class:`malmoi.Model` is one)."""

    def parse(self, text: str, *, now: datetime | None = None) -> ParseResult: ...

    def parse_batch(self, texts: Sequence[str], *, now: datetime | None = None) -> list[ParseResult]: ...


# A model, a text, its reference time (None: the clock), and where its result goes.
_Job = tuple[Parser, str, "datetime | None", "concurrent.futures.Future[ParseResult]"]


class ParseBatcher:
    """Parses texts on one thread, taking every text that waits when it is free as one batch.

    No request waits for a batch to fill: under light load each text is parsed alone at once;
    under heavy load the queue grows while a batch runs, and the next batch takes it all, so the
    network's fixed cost per call is shared (Triton's and vLLM's dynamic batching, without a
    delay window). What is taken at once is grouped by model, one ``parse_batch`` per model: a
    server of thousands of bots keeps one parsing thread, not one per bot, and a popular bot
    still gets its texts batched. A batch that fails is retried text by text, so one bad text
    fails alone.
    """

    def __init__(self, max_batch: int = 32, thread_name: str = "malmoi-parse") -> None:
        self.max_batch = max_batch
        # Called with the bot's name and each result parsed for it (the server's metrics).
        self.observe: Callable[[str, ParseResult], None] | None = None
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)
        self._thread.start()

    def submit(self, model: Parser, text: str, now: datetime | None = None) -> concurrent.futures.Future[ParseResult]:
        future: concurrent.futures.Future[ParseResult] = concurrent.futures.Future()
        self._queue.put((model, text, now, future))
        return future

    async def parse(self, model: Parser, text: str, bot: str = "", now: datetime | None = None) -> ParseResult:
        """``text`` parsed by ``model``, in the next batch; ``bot`` names it to :attr:`observe`; ``now``: the
        reference time of relative dates ("내일"), None: the clock."""
        result = await asyncio.wrap_future(self.submit(model, text, now))
        if self.observe is not None and bot:
            self.observe(bot, result)
        return result

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            groups: dict[tuple[int, datetime | None], list[_Job]] = {}
            for entry in batch:
                groups.setdefault((id(entry[0]), entry[2]), []).append(entry)
            for group in groups.values():
                _parse_group(group)
            # While it waits for the next texts this thread must not hold the last models: the
            # bot cache would evict them and their memory would stay.
            del batch, groups, group, item, entry

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)


def _parse_group(group: list[_Job]) -> None:
    """Parse texts of one model and reference time in one call; if that fails, each text alone, so
    one bad text fails alone."""
    model, now = group[0][0], group[0][2]
    when = {} if now is None else {"now": now}  # a model without values need not take `now`
    try:
        results = model.parse_batch([text for _, text, _, _ in group], **when)
    except Exception:
        for _, text, _, future in group:
            try:
                future.set_result(model.parse(text, **when))
            except Exception as exc:
                future.set_exception(exc)
        return
    for (_, _, _, future), result in zip(group, results, strict=True):
        future.set_result(result)
