"""What ``/metrics`` instrumentation costs per request, measured in-process where a busy machine's
noise does not swamp it: the ASGI metrics middleware and the parse counter around a trivial app,
against the same app without them, alternated over several rounds (the best round of each kept).

The end-to-end comparison is ``bench/serve_load.py`` run twice, the second time with
``--server-arg=--metrics --server-arg=off``; on a machine shared with other work its run-to-run
spread (±20 % at a load average of 18 on 2 cores) is far above the few microseconds measured here,
which are then set against the server's CPU per parse request.

Run:  python bench/metrics_cost.py [--requests 20000] [--rounds 5] [--out FILE]
"""

from __future__ import annotations

import asyncio
import os
import platform
import time
from typing import Any

import _cli
from malmoi.model.result import IntentScore, ParseResult
from malmoi.serve.metrics import MetricsMiddleware, ServerMetrics


class _Route:
    path = "/v1/parse"


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    scope["route"] = _Route()  # as FastAPI's router leaves it
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _drive(app: Any, requests: int, metrics: ServerMetrics | None, result: ParseResult) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    started = time.perf_counter()
    for _ in range(requests):
        await app({"type": "http", "method": "POST", "path": "/v1/parse"}, receive, send)
        if metrics is not None:
            metrics.observe_parse("bench", result)
    return (time.perf_counter() - started) / requests


def main(argv: list[str] | None = None) -> int:
    parser = _cli.Parser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_out(_cli.RESULTS / "metrics_cost.json")
    args = parser.parse_args(argv)
    metrics = ServerMetrics(bot="bench")
    instrumented = MetricsMiddleware(_app, metrics)
    result = ParseResult(text="t", intent=IntentScore(name="weather", confidence=0.9), intent_ranking=[],
                         fallback=False, entities=[])
    bare, timed = [], []
    load = os.getloadavg()[0]
    for _ in range(args.rounds):
        bare.append(asyncio.run(_drive(_app, args.requests, None, result)))
        timed.append(asyncio.run(_drive(instrumented, args.requests, metrics, result)))
    cost_us = (min(timed) - min(bare)) * 1e6
    out = {
        "benchmark": "metrics-cost",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "requests_per_round": args.requests, "rounds": args.rounds,
        "bare_us_per_request": round(min(bare) * 1e6, 2), "instrumented_us_per_request": round(min(timed) * 1e6, 2),
        "cost_us_per_request": round(cost_us, 2), "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
    }
    print(f"metrics cost {cost_us:.1f} µs per request (bare {min(bare) * 1e6:.1f} µs, instrumented "
          f"{min(timed) * 1e6:.1f} µs; best of {args.rounds} rounds of {args.requests}); load {load:.1f}")
    _cli.save_json(args.out, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
