"""Load benchmark for ``malmoi serve``: /v1/parse and /v1/chat at 1, 16 and 64 concurrent clients.

Starts ``malmoi serve MODEL_DIR`` on 127.0.0.1 (``--port``, else a free port; a throwaway SQLite
database) in a subprocess, and drives it from this process: an asyncio load generator with one keep-alive
HTTP/1.1 connection per client, written on raw sockets because a client library would spend
more CPU per request than the server's own parse on a 2-core machine. Each level is bounded by
time and by request count. For each endpoint and level it reports requests/s, p50 and p99
latency, errors, the CPU that the client and the server used, and the CPU time the server's
threads waited for while other processes held the cores ("server waits", from Linux schedstat:
high when the machine is busy); and the server's resident memory (RSS, worker processes
included) before and after. Before that, the client alone is
measured against a null server (a process that answers a canned body): the client's ceiling.

``--soak-seconds 600`` adds the 10-minute memory run: /v1/parse at 16 clients, RSS sampled
every 10 s; growth is the last sample against the one after the warm-up (the first 10 %).

Run:  python bench/serve_load.py [MODEL_DIR] [--seconds 20] [--max-requests 20000] [--workers 1]
      python bench/serve_load.py --soak-seconds 600
      python bench/serve_load.py --levels 16 --endpoints parse --seconds 10 --check
MODEL_DIR defaults to models/demo, trained from examples/demo-bot when missing, older than the
bot's data, or unloadable. Results: a table, and JSON in bench/results/serve_load.json (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _cli

try:
    import psutil
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("bench/serve_load.py needs psutil: pip install 'malmoi[bench]'")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "models" / "demo"
DEMO_BOT = ROOT / "examples" / "demo-bot"
HOST = _cli.HOST  # never anything else: this benchmark must not load another machine

# Targets of issue 5, checked by --check.
TARGET_RPS, TARGET_P99_MS, TARGET_CLIENTS, TARGET_GROWTH_PCT = 500.0, 50.0, 16, 10.0

# A mix of what the demo bot knows (weather, fine dust, travel, restaurants, greetings), of
# messages that leave a slot open (so /v1/chat asks back and fills it), and of out-of-domain ones.
TEXTS = [
    "내일 부산 날씨 어때",
    "모레 서울 강남구 비 올까요",
    "이번 주말 대전 미세먼지 심해",
    "다음 주 토요일에 강릉 여행 가려는데 가볼 만한 곳 추천해줘",
    "광주 근처 국밥 맛집 좀 찾아줘",
    "안녕하세요 반가워요",
    "날씨 알려줘",
    "제주",
    "미세먼지 어때",
    "인천",
    "맛집 추천해줘",
    "수원 초밥",
    "신나는 노래 한 곡 틀어줄래",
    "고마워 덕분에 살았어",
    "오늘 오후 대구 강수 확률 알려줘",
    "취소",
]
ENDPOINTS = {"parse": "/v1/parse", "chat": "/v1/chat"}
# A response counts as an error unless it is a 200 whose body has this field.
BODY_MARKERS = {"parse": b'"intent"', "chat": b'"answer"'}
GRACE_SECONDS = 10.0  # after the time bound, how long in-flight requests may take before they count as timeouts


# -- the load generator ----------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection: send pre-encoded requests, read status and body."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked, close = None, False, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"connection":
                close = value == b"close"
        if chunked:
            body = await self._read_chunked()
        elif length is not None:
            body = await self.reader.readexactly(length)
        else:
            body, close = await self.reader.read(), True
        if close:
            self.close()
        return status, body

    async def _read_chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)


def encode_request(port: int, path: str, payload: dict[str, str]) -> bytes:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


def request_mix(port: int, endpoint: str, client: int, run: str) -> list[bytes]:
    """The requests one client cycles through; chat clients each hold their own conversation."""
    path = ENDPOINTS[endpoint]
    if endpoint == "chat":
        return [encode_request(port, path, {"user_id": f"bench-{run}-{client}", "text": t}) for t in TEXTS]
    return [encode_request(port, path, {"text": t}) for t in TEXTS]


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * q // 100))  # ceil
    return sorted_values[int(rank) - 1]


@dataclass
class LevelResult:
    endpoint: str
    clients: int
    seconds: float
    completed: int
    ok: int
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    client_cpu_pct: float  # of one core
    server_cpu_pct: float  # of one core, all server processes together
    # CPU time the server's threads were ready to use but did not get (other processes had the
    # cores), in % of one core: high when the machine is busy, or the client competes with the server.
    server_cpu_wait_pct: float | None
    rss_samples_mb: list[tuple[float, float]] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


async def run_level(
    port: int,
    endpoint: str,
    clients: int,
    *,
    seconds: float,
    max_requests: int,
    run: str,
    server_pid: int | None,
    sample_every: float | None = None,
) -> LevelResult:
    """``clients`` connections, each sending its next request as soon as the previous one answers."""
    marker = BODY_MARKERS[endpoint]
    connections = [Connection(port) for _ in range(clients)]
    await asyncio.gather(*(c.open() for c in connections))
    mixes = [request_mix(port, endpoint, i, run) for i in range(clients)]
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    issued = 0
    samples: list[tuple[float, float]] = []

    server_cpu_start = tree_cpu_seconds(server_pid) if server_pid else 0.0
    server_wait_start = tree_run_queue_seconds(server_pid) if server_pid else None
    client_cpu_start = time.process_time()
    start = time.perf_counter()
    deadline = start + seconds

    async def client(i: int) -> None:
        nonlocal issued
        connection, mix, k = connections[i], mixes[i], i
        while issued < max_requests and time.perf_counter() < deadline:
            issued += 1
            raw = mix[k % len(mix)]
            k += 1
            sent = time.perf_counter()
            try:
                status, body = await connection.request(raw)
            except (OSError, EOFError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                errors[type(exc).__name__] += 1
                connection.close()
                await asyncio.sleep(0.01)  # a refused connection must not spin
                continue
            latencies.append(time.perf_counter() - sent)
            if status != 200:
                errors[f"HTTP {status}"] += 1
            elif marker not in body:
                errors["200 without a result"] += 1

    async def sampler() -> None:
        assert server_pid is not None and sample_every is not None
        while True:
            samples.append((time.perf_counter() - start, tree_rss_mb(server_pid)))
            await asyncio.sleep(sample_every)

    sampling = asyncio.create_task(sampler()) if sample_every and server_pid else None
    tasks = [asyncio.create_task(client(i)) for i in range(clients)]
    _, pending = await asyncio.wait(tasks, timeout=seconds + GRACE_SECONDS)
    for task in pending:
        task.cancel()
        errors["timeout"] += 1
    await asyncio.gather(*pending, return_exceptions=True)
    elapsed = time.perf_counter() - start
    client_cpu = time.process_time() - client_cpu_start
    server_cpu = (tree_cpu_seconds(server_pid) - server_cpu_start) if server_pid else 0.0
    server_wait_end = tree_run_queue_seconds(server_pid) if server_pid else None
    server_wait = None if server_wait_start is None or server_wait_end is None else server_wait_end - server_wait_start
    if sampling is not None:
        samples.append((elapsed, tree_rss_mb(server_pid)))  # type: ignore[arg-type]
        sampling.cancel()
    for c in connections:
        c.close()

    latencies.sort()
    ok = len(latencies) - sum(v for k, v in errors.items() if k.startswith(("HTTP", "200")))
    return LevelResult(
        endpoint=endpoint,
        clients=clients,
        seconds=round(elapsed, 2),
        completed=len(latencies),
        ok=ok,
        rps=round(ok / elapsed, 1),
        p50_ms=round(percentile(latencies, 50) * 1000, 2),
        p99_ms=round(percentile(latencies, 99) * 1000, 2),
        max_ms=round(latencies[-1] * 1000, 2) if latencies else float("nan"),
        errors=dict(errors),
        client_cpu_pct=round(100 * client_cpu / elapsed, 1),
        server_cpu_pct=round(100 * server_cpu / elapsed, 1),
        server_cpu_wait_pct=None if server_wait is None else round(100 * server_wait / elapsed, 1),
        rss_samples_mb=samples,
    )


# -- the null server: what the client alone can do ---------------------------------------------

NULL_BODY = json.dumps(
    {"text": "내일 부산 날씨 어때", "intent": {"name": "weather", "confidence": 0.99}, "answer": "맑아요",
     "intent_ranking": [], "fallback": False, "entities": []},
    ensure_ascii=False,
).encode("utf-8")
NULL_RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(NULL_BODY) + NULL_BODY
)
_CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")


class NullHttp(asyncio.Protocol):
    """Answers every request with the same 200 at once: a server that costs next to nothing."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            match = _CONTENT_LENGTH.search(self.buffer, 0, end + 2)
            total = end + 4 + (int(match.group(1)) if match else 0)
            if len(self.buffer) < total:
                return
            self.buffer = self.buffer[total:]
            self.transport.write(NULL_RESPONSE)  # type: ignore[attr-defined]


def serve_null(port: int) -> None:
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(NullHttp, HOST, port)
        print("ready", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# -- the server under test ---------------------------------------------------------------------


def server_tree(pid: int) -> list[psutil.Process]:
    try:
        process = psutil.Process(pid)
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_rss_mb(pid: int) -> float:
    """Resident memory of the server and its worker processes, in MiB."""
    total = 0
    for p in server_tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return round(total / 2**20, 1)


def tree_cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in server_tree(pid):
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def tree_run_queue_seconds(pid: int) -> float | None:
    """Time the server's threads spent runnable but waiting for a CPU (Linux schedstat)."""
    total_ns = 0
    found = False
    for p in server_tree(pid):
        for stat in Path(f"/proc/{p.pid}/task").glob("*/schedstat"):
            try:
                total_ns += int(stat.read_text().split()[1])
                found = True
            except (OSError, IndexError, ValueError):
                pass
    return total_ns / 1e9 if found else None


def wait_for_http(port: int, path: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerFailed(f"the server exited with {process.returncode}:\n{log.read_text('utf-8', 'replace')}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    output = log.read_text("utf-8", "replace")
    raise ServerFailed(f"nothing answered on {HOST}:{port}{path} within {timeout:.0f} s:\n{output}")


class ServerFailed(RuntimeError):
    pass


@contextmanager
def subprocess_server(command: list[str], port: int, health: str, log: Path, timeout: float = 180) -> Iterator[int]:
    """Run ``command`` until the block ends; yields its pid once ``health`` answers 200."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    with open(log, "ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=log.parent)
    try:
        wait_for_http(port, health, process, log, timeout)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)


def serve_command(model_dir: Path, port: int, database_url: str, workers: int, extra: Sequence[str] = ()) -> list[str]:
    return [sys.executable, "-m", "malmoi.cli", "serve", str(model_dir), "--host", HOST, "--port", str(port),
            "--database-url", database_url, "--workers", str(workers), *extra]


def train_demo(model_dir: Path) -> None:
    print(f"Training the demo bot into {model_dir} (about a minute) ...", file=sys.stderr)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    subprocess.run([sys.executable, "-m", "malmoi.cli", "train", str(DEMO_BOT), "--out", str(model_dir), "--quiet"],
                   check=True, env=env, cwd=ROOT)


def demo_is_stale(model_dir: Path) -> bool:
    saved = model_dir / "model.json"  # written by every save
    if not saved.is_file():
        return True
    newest_data = max(p.stat().st_mtime for p in DEMO_BOT.rglob("*") if p.is_file())
    return newest_data > saved.stat().st_mtime


# -- the run -----------------------------------------------------------------------------------


def measure_ceiling(levels: Sequence[int], seconds: float, work: Path) -> list[LevelResult]:
    port = _cli.free_port()  # the null server's own, never --port (the malmoi server's)
    command = [sys.executable, str(Path(__file__).resolve()), "--null-server", str(port)]
    results = []
    with subprocess_server(command, port, "/", work / "null-server.log", timeout=30):
        for clients in levels:
            results.append(asyncio.run(run_level(port, "parse", clients, seconds=seconds, max_requests=10**9,
                                                 run="ceiling", server_pid=None)))
    return results


def format_rows(results: Sequence[LevelResult]) -> str:
    header = (f"{'endpoint':<10}{'clients':>8}{'requests':>10}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}"
              f"{'max ms':>8}{'errors':>7}{'client CPU':>11}{'server CPU':>11}{'server waits':>13}")
    lines = [header, "-" * len(header)]
    for r in results:
        wait = "-" if r.server_cpu_wait_pct is None else f"{r.server_cpu_wait_pct:.0f}%"
        lines.append(
            f"{ENDPOINTS.get(r.endpoint, r.endpoint):<10}{r.clients:>8}{r.completed:>10}{r.rps:>8.0f}{r.p50_ms:>8.1f}"
            f"{r.p99_ms:>8.1f}{r.max_ms:>8.1f}{r.error_count:>7}{r.client_cpu_pct:>10.0f}%{r.server_cpu_pct:>10.0f}%"
            f"{wait:>13}"
        )
    return "\n".join(lines)


def summary(r: LevelResult) -> dict[str, Any]:
    out = {k: v for k, v in vars(r).items() if k != "rss_samples_mb"}
    out["error_count"] = r.error_count
    return out


def main(argv: list[str] | None = None) -> int:
    parser = _cli.Parser(description=__doc__)
    parser.add_argument("model_dir", nargs="?", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--seconds", type=float, default=20.0, help="time bound per endpoint and level")
    parser.add_argument("--max-requests", type=int, default=20000, help="request bound per endpoint and level")
    parser.add_argument("--levels", default="1,16,64", help="concurrent clients, comma-separated")
    parser.add_argument("--endpoints", default="parse,chat", help="parse, chat or both")
    parser.add_argument("--workers", type=int, default=1, help="server processes (malmoi serve --workers)")
    parser.add_argument("--server-arg", action="append", default=[], help="a `malmoi serve` option, repeatable")
    parser.add_argument("--warmup-seconds", type=float, default=3.0, help="unrecorded load before the levels")
    parser.add_argument("--ceiling-seconds", type=float, default=5.0,
                        help="client-only run against a null server (0: skip)")
    parser.add_argument("--soak-seconds", type=float, default=0.0,
                        help="memory run: /v1/parse at 16 clients (600 = 10 minutes)")
    parser.add_argument("--sample-seconds", type=float, default=10.0, help="RSS sampling period during the soak")
    parser.add_out(_cli.RESULTS / "serve_load.json")
    parser.add_port()
    parser.add_argument("--check", action="store_true", help="exit 1 if a target of issue 5 is missed")
    parser.add_argument("--null-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.null_server:
        serve_null(args.null_server)
        return 0

    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    endpoints = [x.strip() for x in args.endpoints.split(",") if x.strip()]
    unknown = [e for e in endpoints if e not in ENDPOINTS]
    if unknown:
        parser.error(f"unknown endpoint(s) {unknown}; choose from {sorted(ENDPOINTS)}")
    model_dir: Path = args.model_dir.resolve()
    is_default_model = model_dir == DEFAULT_MODEL
    if is_default_model and demo_is_stale(model_dir):
        train_demo(model_dir)
    elif not (model_dir / "model.json").is_file():
        parser.error(f"{model_dir} is not a model directory; train one with `malmoi train BOT_DIR --out {model_dir}`")

    cores = os.cpu_count() or 1
    note = (f"{cores} CPU cores shared by the server ({args.workers} worker process(es)) and this load generator: "
            "the client's CPU comes out of the server's budget, so these figures understate the server alone.")
    load_before = os.getloadavg()[0]
    if load_before > cores / 2:
        note += f" The machine was already busy (1-minute load {load_before:.1f}): expect lower figures."
    print(note, file=sys.stderr)
    result: dict[str, Any] = {
        "benchmark": "serve-load",
        "machine": f"{platform.machine()}, {cores} cores, {platform.system()} {platform.release()}, "
                   f"Python {platform.python_version()}",
        "note": note,
        "model_dir": str(model_dir),
        "workers": args.workers,
        "server_args": args.server_arg,
        "bounds": {"seconds": args.seconds, "max_requests": args.max_requests, "grace_seconds": GRACE_SECONDS},
        "client": "asyncio in one process, one keep-alive HTTP/1.1 connection per client on raw sockets",
        "load_average_before": round(load_before, 2),
    }
    work = Path(tempfile.mkdtemp(prefix="malmoi-serve-load-"))
    try:
        ceiling: list[LevelResult] = []
        if args.ceiling_seconds > 0:
            ceiling = measure_ceiling([16, 64], args.ceiling_seconds, work)
            result["client_ceiling"] = [summary(r) for r in ceiling]
        port = _cli.port_or_free(args.port, "malmoi serve")
        command = serve_command(model_dir, port, f"sqlite:///{work / 'state.sqlite3'}", args.workers, args.server_arg)
        with ExitStack() as stack:
            try:
                server_pid = stack.enter_context(subprocess_server(command, port, "/health", work / "server.log"))
            except ServerFailed as exc:
                if not (is_default_model and "retrain" in str(exc).lower()):
                    raise
                train_demo(model_dir)  # saved by an older malmoi: the server says to retrain it
                server_pid = stack.enter_context(subprocess_server(command, port, "/health", work / "server.log"))
            measured, soak = load_server(port, server_pid, levels, endpoints, args, result)
    except ServerFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print("\n" + note)
    if ceiling:
        print("\nThe client alone, against a null server (its ceiling):\n" + format_rows(ceiling))
    print("\nmalmoi serve:\n" + format_rows(measured))
    print(f"\nserver RSS (all processes): idle {result['rss_mb_idle']} MiB, after warm-up "
          f"{result['rss_mb_after_warmup']} MiB, after the levels {result['rss_mb_after']} MiB")
    if soak is not None:
        s = result["soak"]
        print(f"soak {soak.seconds:.0f} s, /v1/parse x{TARGET_CLIENTS}: {soak.rps:.0f} req/s, "
              f"p99 {soak.p99_ms:.1f} ms, "
              f"{soak.error_count} errors; RSS {s['rss_mb_baseline']} -> {s['rss_mb_end']} MiB "
              f"(max {s['rss_mb_max']}), growth {s['growth_pct']:+.1f} %")
    result["load_average_after"] = round(os.getloadavg()[0], 2)
    result["targets"] = targets(result)
    print()
    for name, passed in result["targets"].items():
        print(f"  [{'ok' if passed else 'MISSED'}] {name}")
    _cli.save_json(args.out, result)
    return 1 if args.check and not all(result["targets"].values()) else 0


def load_server(
    port: int, server_pid: int, levels: list[int], endpoints: list[str], args: argparse.Namespace,
    result: dict[str, Any],
) -> tuple[list[LevelResult], LevelResult | None]:
    """Warm-up, each endpoint at each level, then the soak; memory and results go into ``result``."""
    result["rss_mb_idle"] = tree_rss_mb(server_pid)
    for endpoint in endpoints:
        asyncio.run(run_level(port, endpoint, 16, seconds=args.warmup_seconds, max_requests=10**9,
                              run="warmup", server_pid=server_pid))
    result["rss_mb_after_warmup"] = tree_rss_mb(server_pid)
    measured = []
    for endpoint in endpoints:
        for clients in levels:
            r = asyncio.run(run_level(port, endpoint, clients, seconds=args.seconds, max_requests=args.max_requests,
                                      run=f"c{clients}", server_pid=server_pid))
            measured.append(r)
            print(f"  {ENDPOINTS[endpoint]} x{clients}: {r.rps:.0f} req/s, p99 {r.p99_ms:.1f} ms, "
                  f"{r.error_count} errors", file=sys.stderr)
    result["levels"] = [summary(r) for r in measured]
    result["rss_mb_after"] = tree_rss_mb(server_pid)
    result["server_processes"] = len(server_tree(server_pid))
    if args.soak_seconds <= 0:
        return measured, None
    print(f"  soak: /v1/parse x{TARGET_CLIENTS} for {args.soak_seconds:.0f} s ...", file=sys.stderr)
    soak = asyncio.run(run_level(port, "parse", TARGET_CLIENTS, seconds=args.soak_seconds, max_requests=10**12,
                                 run="soak", server_pid=server_pid, sample_every=args.sample_seconds))
    # Baseline after the warm-up (the first 10 %): allocators and caches fill up early, then should stay flat.
    warm = [mb for t, mb in soak.rss_samples_mb if t >= args.soak_seconds * 0.1] or [soak.rss_samples_mb[-1][1]]
    result["soak"] = {
        **summary(soak),
        "rss_mb_baseline": warm[0],
        "rss_mb_end": warm[-1],
        "rss_mb_max": max(mb for _, mb in soak.rss_samples_mb),
        "growth_pct": round(100 * (warm[-1] - warm[0]) / warm[0], 2),
        "rss_samples_mb": [(round(t, 1), mb) for t, mb in soak.rss_samples_mb],
    }
    return measured, soak


def targets(result: dict[str, Any]) -> dict[str, bool]:
    checks: dict[str, bool] = {}
    for r in result.get("levels", []):
        if r["endpoint"] == "parse" and r["clients"] == TARGET_CLIENTS:
            checks[f"/v1/parse x{TARGET_CLIENTS}: >= {TARGET_RPS:.0f} req/s"] = r["rps"] >= TARGET_RPS
            checks[f"/v1/parse x{TARGET_CLIENTS}: p99 <= {TARGET_P99_MS:.0f} ms"] = r["p99_ms"] <= TARGET_P99_MS
            checks[f"/v1/parse x{TARGET_CLIENTS}: 0 errors"] = r["error_count"] == 0
    if "soak" in result:
        checks[f"soak: RSS growth <= {TARGET_GROWTH_PCT:.0f} %"] = result["soak"]["growth_pct"] <= TARGET_GROWTH_PCT
        checks["soak: 0 errors"] = result["soak"]["error_count"] == 0
    return checks


if __name__ == "__main__":
    sys.exit(main())
