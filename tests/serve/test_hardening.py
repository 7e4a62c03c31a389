"""Issue 10 over real sockets, against ``malmoi serve`` subprocesses: a model that cannot load
stops the command before it binds its port; stalled requests are closed in time; and uvicorn's
own path decoding, Host header and response headers go through the app's checks."""

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
READ_TIMEOUT = 2.0  # short, so that the test is; the default is 10 s
KEEP_ALIVE_TIMEOUT = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- a model with damaged weights -------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_stops_before_binding_for_damaged_weights(chat_model_dir: Path, tmp_path: Path, workers: int) -> None:
    damaged = tmp_path / "model"
    shutil.copytree(chat_model_dir, damaged)
    weights = damaged / "intent.safetensors"
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


# -- timeouts, and the app's checks behind a real uvicorn -------------------------------------


@pytest.fixture(scope="module")
def server(module_server_factory, chat_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    database = tmp_path_factory.mktemp("hardening") / "state.sqlite3"
    server = module_server_factory(chat_model_dir, f"sqlite:///{database}", "--read-timeout", str(READ_TIMEOUT),
                                   "--keep-alive-timeout", str(KEEP_ALIVE_TIMEOUT))
    server.start()
    return server


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def test_stalled_connections_are_closed_within_the_timeouts(server) -> None:
    head = b"POST /v1/parse HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    probes = {
        "sends nothing": b"",
        "half the headers": head[:40],
        "half the body": head + b"Content-Length: 40\r\n\r\n" + '{"text": "안'.encode(),
        "idle after a response": b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    }
    sockets = {}
    start = time.monotonic()
    for name, data in probes.items():  # all at once: the test takes one timeout, not four
        sockets[name] = socket.create_connection(("127.0.0.1", server.port), timeout=READ_TIMEOUT + 10)
        sockets[name].sendall(data)
    closed: dict[str, tuple[bytes, float]] = {}
    for name, sock in sockets.items():
        try:
            closed[name] = (read_until_closed(sock), time.monotonic() - start)
        except TimeoutError:
            pytest.fail(f"a connection that {name} was still open after {READ_TIMEOUT + 10} s")
        finally:
            sock.close()
    for name, (_, elapsed) in closed.items():
        limit = KEEP_ALIVE_TIMEOUT if name == "idle after a response" else READ_TIMEOUT
        assert elapsed < limit + 5, (name, elapsed)
    assert closed["sends nothing"][1] >= READ_TIMEOUT - 0.5  # held the whole timeout, not less
    answer = closed["half the body"][0].decode("utf-8", "replace")
    assert answer.startswith("HTTP/1.1 408 ") and '"code":"request_timeout"' in answer, answer
    assert closed["idle after a response"][0].startswith(b"HTTP/1.1 200 ")
    assert httpx.get(server.url + "/health", timeout=10).status_code == 200  # and the server is fine


def test_real_server_keeps_an_encoded_slash_in_the_user_id(server) -> None:
    first = httpx.get(server.url + "/request_chat/team%2Fbob/맛집 추천해줘", timeout=30).json()
    assert first["input"] == ["맛집", "추천해줘"] and first["state"] == "REQUIRE_LOCATION_RESTAURANT", first
    second = httpx.get(server.url + "/fill_slot/team%2Fbob/서울", timeout=30).json()
    assert second["state"] == "REQUIRE_RESTAURANT" and second["input"] == ["서울"], second
    # User "team" has nothing pending: the reply is not team/bob's restaurant answer.
    other = httpx.get(server.url + "/fill_slot/team/떡볶이", timeout=30).json()
    assert other["answer"] != "서울 떡볶이 맛집을 찾아볼게요." and other["state"] != "REQUIRE_RESTAURANT", other
    last = httpx.get(server.url + "/fill_slot/team%2Fbob/떡볶이", timeout=30).json()
    assert last["answer"] == "서울 떡볶이 맛집을 찾아볼게요.", last


def test_real_server_checks_host_and_sends_security_headers(server) -> None:
    response = httpx.get(server.url + "/health", headers={"Host": "rebound.example:8000"}, timeout=10)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_host"
    for path in ("/health", "/", "/docs", "/nothing"):
        headers = httpx.get(server.url + path, timeout=10).headers
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
    localhost = httpx.get(f"http://localhost:{server.port}/health", timeout=10)
    assert localhost.status_code == 200


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--read-timeout", "0"], "--read-timeout must be a positive number of seconds"),
        (["--keep-alive-timeout", "0"], "--keep-alive-timeout must be a positive number of seconds"),
        (["--allowed-host", "evil example"], "--allowed-host takes a host name"),
        (["--allowed-host", "http://example.com"], "--allowed-host takes a host name"),
    ],
)
def test_serve_command_rejects_bad_hardening_options(tmp_path: Path, capsys, options: list[str], says: str) -> None:
    from malmoi.cli import main

    assert main(["serve", str(tmp_path), *options]) == 2
    assert says in capsys.readouterr().err
