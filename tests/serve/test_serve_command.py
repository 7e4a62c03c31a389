"""``malmoi serve``'s options: checked the same for one model and for ``--registry``, before anything starts.

``serve --registry`` used to skip the port, timeout and allowed-host checks of the one-model server
and hand the values to uvicorn (a port of 70000 failed there with a traceback). Here the registry is
a real one, with a bot and a key, so that a check that is skipped would go on to start the server:
the runner is replaced by one that fails the test instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from malmoi.bots import KeyStore, Registry
from malmoi.cli import main


@pytest.fixture(scope="module")
def registry_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    registry = Registry(tmp_path_factory.mktemp("serve-command") / "reg")
    registry.publish(tiny_model_dir, bot="tiny")
    KeyStore(registry).create(bot="tiny")
    return registry.root


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, str | None]]:
    """What the command would have served (settings, ready line), recorded instead of served."""
    import malmoi.serve._server

    calls: list[tuple[Any, str | None]] = []
    monkeypatch.setattr(malmoi.serve._server, "_run_uvicorn", lambda settings, ready: calls.append((settings, ready)))
    return calls


def serve(mode: str, model_dir: Path, registry_dir: Path, tmp_path: Path, *options: str) -> list[str]:
    what = [str(model_dir)] if mode == "one model" else ["--registry", str(registry_dir)]
    return ["serve", *what, "--database-url", f"sqlite:///{tmp_path / 'state.sqlite3'}", *options]


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err.removeprefix("error: ").strip()


@pytest.mark.parametrize("mode", ["one model", "registry"])
@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--port", "70000"], "--port 70000 is not a TCP port (0-65535)"),
        (["--port", "-1"], "--port -1 is not a TCP port (0-65535)"),
        (["--read-timeout", "0"], "--read-timeout must be a positive number of seconds, not 0"),
        (["--read-timeout", "-2.5"], "--read-timeout must be a positive number of seconds, not -2.5"),
        (["--read-timeout", "nan"], "--read-timeout must be a positive number of seconds, not nan"),
        (["--keep-alive-timeout", "0"], "--keep-alive-timeout must be a positive number of seconds, not 0"),
        (["--allowed-host", "evil example"], "--allowed-host takes a host name or address"),
        (["--allowed-host", "http://example.com"], "--allowed-host takes a host name or address"),
        (["--host", "my host"], "--host 'my host' is not an address to listen on"),
        (["--forwarded-allow-ips", "proxy"], "--forwarded-allow-ips 'proxy': 'proxy' is not an address or a network"),
        (["--database-url", " "], "--database-url is empty"),
        (["--workers", "0"], "--workers must be at least 1, not 0"),
    ],
)
def test_each_option_is_checked_in_both_modes(mode: str, options: list[str], says: str, tiny_model_dir: Path,
                                              registry_dir: Path, tmp_path: Path, started: list,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert refused(serve(mode, tiny_model_dir, registry_dir, tmp_path, *options), capsys).startswith(says)
    assert not started


@pytest.mark.parametrize(
    ("mode", "options", "says"),
    [
        ("one model", ["--cache-mb", "64"], "--cache-mb goes with --registry DIR, not with one model"),
        ("one model", ["--no-keys"], "--no-keys goes with --registry DIR, not with one model"),
        ("one model", ["--ray"], "--ray, --replicas and --ray-address serve a registry: add --registry DIR"),
        ("one model", ["--review-dir", "."], "--review-dir does not go with one model"),
        ("registry", ["--workers", "2"], "--registry serves from one process"),
        ("registry", ["--scenarios", "mybot.actions"], "--scenarios goes with one model, not with --registry"),
        ("registry", ["--review-data", "."], "--review-data does not go with --registry"),
        ("registry", ["--replicas", "2"], "--replicas and --ray-address are options of --ray: add --ray"),
        ("registry", ["--cache-mb", "0"], "--cache-mb must be a positive number, not 0"),
        ("registry", ["--ray", "--replicas", "0"], "--replicas must be at least 1, not 0"),
        ("registry", ["--ray", "--access-log"], "--access-log is not used on Ray"),
        ("registry", ["--ray", "--keep-alive-timeout", "9"], "--keep-alive-timeout is not used on Ray"),
        ("registry", ["--ray", "--forwarded-allow-ips", "::1"], "--forwarded-allow-ips is not used on Ray"),
        ("registry", ["--ray", "--review-dir", "."], "--review-dir is not served on Ray"),
    ],
)
def test_options_that_do_not_go_with_the_mode_are_refused(mode: str, options: list[str], says: str,
                                                          tiny_model_dir: Path, registry_dir: Path, tmp_path: Path,
                                                          started: list, capsys: pytest.CaptureFixture[str]) -> None:
    assert refused(serve(mode, tiny_model_dir, registry_dir, tmp_path, *options), capsys).startswith(says)
    assert not started


def test_the_registry_server_gets_the_options_it_was_given(registry_dir: Path, tmp_path: Path, started: list) -> None:
    argv = serve("registry", Path(), registry_dir, tmp_path, "--host", "0.0.0.0", "--port", "8123", "--allowed-host",
                 "bots.example.com", "--read-timeout", "3", "--keep-alive-timeout", "7", "--cache-mb", "64",
                 "--no-keys", "--forwarded-allow-ips", "10.0.0.0/8")
    assert main(argv) == 0
    [(settings, ready)] = started
    assert (settings.port, settings.read_timeout, settings.keep_alive_timeout) == (8123, 3.0, 7)
    assert settings.allowed_hosts == ("localhost", "127.0.0.1", "::1", "0.0.0.0", "bots.example.com")
    assert settings.cache_bytes == 64 * 2**20 and not settings.require_keys
    assert settings.forwarded_allow_ips == "10.0.0.0/8" and settings.registry == registry_dir
    assert "Serving 1 bots of" in ready and "http://localhost:8123/v1/bots/{bot}/parse" in ready
    assert "no API keys (--no-keys)" in ready


def test_the_one_model_server_gets_the_options_it_was_given(tiny_model_dir: Path, registry_dir: Path,
                                                            tmp_path: Path, started: list) -> None:
    assert main(serve("one model", tiny_model_dir, registry_dir, tmp_path, "--host", "0.0.0.0", "--workers", "2")) == 0
    [(settings, ready)] = started
    assert settings.model_dir == tiny_model_dir and settings.workers == 2 and settings.port == 8000
    assert settings.allowed_hosts == ("localhost", "127.0.0.1", "::1", "0.0.0.0")
    assert ready.startswith("Serving 'tiny' on http://localhost:8000/") and "add --allowed-host NAME" in ready
