"""Dynamic batching of parses: one thread per process parses whatever requests are waiting."""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from malmoi.model.result import ParseResult

__all__ = ["MultiParseBatcher", "ParseBatcher"]


class ParseBatcher:
    """Parses texts on one thread, taking every text that waits when it is free as one batch.

    No request waits for a batch to fill: under light load each text is parsed alone at once;
    under heavy load the queue grows while a batch runs, and the next batch takes it all, so the
    network's fixed cost per call is shared (Triton's and vLLM's dynamic batching, without a
    delay window). A batch that fails is retried text by text, so one bad text fails alone.
    The one-model case of :class:`MultiParseBatcher`.
    """

    def __init__(self, model: Any, max_batch: int = 32) -> None:
        self.model, self.max_batch = model, max_batch
        self._batcher = MultiParseBatcher(max_batch, thread_name="malmoi-parse")

    def submit(self, text: str) -> concurrent.futures.Future[ParseResult]:
        return self._batcher.submit(self.model, text)

    async def parse(self, text: str) -> ParseResult:
        return await self._batcher.parse(self.model, text)

    def close(self) -> None:
        self._batcher.close()


class MultiParseBatcher:
    """:class:`ParseBatcher` for many models: one thread, each waiting text parsed with its own model.

    Whatever waits when the thread is free is taken at once and grouped by model, one
    ``parse_batch`` per model: a server of thousands of bots keeps one parsing thread, not one
    per bot, and a popular bot still gets its texts batched.
    """

    def __init__(self, max_batch: int = 32, thread_name: str = "malmoi-parse-bots") -> None:
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[Any, str, concurrent.futures.Future[ParseResult]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)
        self._thread.start()

    def submit(self, model: Any, text: str) -> concurrent.futures.Future[ParseResult]:
        future: concurrent.futures.Future[ParseResult] = concurrent.futures.Future()
        self._queue.put((model, text, future))
        return future

    async def parse(self, model: Any, text: str) -> ParseResult:
        return await asyncio.wrap_future(self.submit(model, text))

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
            groups: dict[int, list[tuple[Any, str, concurrent.futures.Future[ParseResult]]]] = {}
            for entry in batch:
                groups.setdefault(id(entry[0]), []).append(entry)
            for group in groups.values():
                model = group[0][0]
                try:
                    results = model.parse_batch([text for _, text, _ in group])
                except Exception:
                    for _, text, future in group:
                        try:
                            future.set_result(model.parse(text))
                        except Exception as exc:
                            future.set_exception(exc)
                    continue
                for (_, _, future), result in zip(group, results, strict=True):
                    future.set_result(result)
            # While it waits for the next texts this thread must not hold the last models: the
            # bot cache would evict them and their memory would stay.
            del batch, groups, group, model, item

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
