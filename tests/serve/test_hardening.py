"""Issue 10 over real sockets, against ``malmoi serve`` subprocesses: a model that cannot load
stops the command before it binds its port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- a model with damaged weights -------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_stops_before_binding_for_damaged_weights(chat_model_dir: Path, tmp_path: Path, workers: int) -> None:
    damaged = tmp_path / "model"
    shutil.copytree(chat_model_dir, damaged)
    weights = damaged / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, "-m", "malmoi.cli", "serve", str(damaged), "--port", str(port),
               "--workers", str(workers), "--database-url", f"sqlite:///{tmp_path / 'state.sqlite3'}"]
    output_file = tmp_path / "output.txt"  # a file, not a pipe: a crash loop could fill a pipe and stall
    bound = False
    with open(output_file, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 180
            while process.poll() is None and time.monotonic() < deadline:
                with socket.socket() as probe:
                    probe.settimeout(0.5)
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        bound = True  # uvicorn's supervisor holds the port while its workers crash
                        break
                time.sleep(0.1)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(30)
    text = output_file.read_text("utf-8", "replace")
    assert not bound, f"the port was bound for a model that cannot load:\n{text[-3000:]}"
    lines = [line for line in text.splitlines() if line.strip()]
    assert process.returncode == 2, text[-3000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), text[-3000:]
    assert "Traceback" not in text and str(damaged) in lines[0]
