"""The tiny test model with scenarios, and real servers: uvicorn and PostgreSQL subprocesses."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from model_files import edit_model_json

pytest.importorskip("fastapi", reason="the server tests need the serve extra: pip install 'malmoi[serve]'")
httpx = pytest.importorskip("httpx", reason="the server tests need the serve extra: pip install 'malmoi[serve]'")

REPO = Path(__file__).resolve().parents[2]

# What a bot author would write in bot.yaml, added to the tiny bot's saved config.
DIALOGUE_CONFIG = {
    "scenarios": {
        "weather": {
            "entities": {
                "LOCATION": {"question": "어느 지역의 날씨를 알려드릴까요?"},
                "DATE": {"default": "오늘"},
            },
            "answer": "{DATE} {LOCATION} 날씨는 맑아요.",
        },
        "restaurant": {
            "entities": {
                "LOCATION": {"question": "어느 동네에서 찾아볼까요?"},
                "RESTAURANT": {"question": "어떤 음식이 좋으세요?", "accept_text": True},
            },
            "answer": "{LOCATION} {RESTAURANT} 맛집을 찾아볼게요.",
        },
    },
    "dialogue": {"answers": {"greeting": "안녕하세요!"}, "fallback_answers": ["잘 모르겠어요."]},
}


@pytest.fixture(scope="session")
def chat_model_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's tiny model, its config given the scenarios above (no retraining)."""
    out = tmp_path_factory.mktemp("chat") / "model"
    shutil.copytree(tiny_model_dir, out)
    return edit_model_json(out, lambda meta: meta["config"].update(DIALOGUE_CONFIG))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``malmoi serve`` in a subprocess on a free 127.0.0.1 port; restartable, killable."""

    def __init__(self, model_dir: Path, database_url: str, log: Path, args: Sequence[str] = ()) -> None:
        self.model_dir, self.database_url, self.log, self.args = model_dir, database_url, log, list(args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
        command = [sys.executable, "-m", "malmoi.cli", "serve", str(self.model_dir), "--port", str(self.port),
                   "--database-url", self.database_url, "--workers", "1", *self.args]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not answer within {timeout} s:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, nothing is flushed."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _servers(folder: Path) -> Iterator:
    servers: list[Server] = []

    def make(model_dir: Path, database_url: str, *args: str) -> Server:
        """A server for ``model_dir``; ``args`` are more ``malmoi serve`` options."""
        server = Server(model_dir, database_url, folder / f"server{len(servers)}.log", args)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator:
    yield from _servers(tmp_path)


@pytest.fixture(scope="module")
def module_server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Servers shared by a module's tests: each start loads torch and the model (seconds)."""
    yield from _servers(tmp_path_factory.mktemp("servers"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL on 127.0.0.1 (scripts/start_postgres.sh), or a skip saying why."""
    pytest.importorskip("psycopg", reason="PostgreSQL tests need psycopg: pip install 'malmoi[serve]'")
    script = str(REPO / "scripts" / "start_postgres.sh")
    check = subprocess.run(["bash", script, "--check"], capture_output=True, text=True)
    if check.returncode != 0:
        pytest.skip(check.stderr.strip() or "PostgreSQL cannot be started here")
    result = subprocess.run(["bash", script, str(free_port())], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        pytest.fail(f"scripts/start_postgres.sh failed:\n{result.stdout}\n{result.stderr}")
    lines = result.stdout.strip().splitlines()
    data_dir = lines[0].partition("=")[2]
    try:
        yield lines[-1]
    finally:
        subprocess.run(["bash", script, "--stop", data_dir], capture_output=True, timeout=60)
