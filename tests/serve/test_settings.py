"""ServeSettings: every server option checked once, for one model and for a registry alike."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from malmoi.serve.settings import ENV_SETTINGS, ServeSettings, default_allowed_hosts, settings_problem

MODES = {"one model": {"model_dir": "models/demo"}, "registry": {"registry": "registry"}}


def problem(**options: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        ServeSettings(**options)
    found = settings_problem(caught.value)
    assert "\n" not in found
    return found


# The options both servers take are checked the same way whichever is served (the registry's used
# to be passed on unchecked).
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("port", 70000, "--port 70000 is not a TCP port (0-65535)"),
        ("port", -1, "--port -1 is not a TCP port"),
        ("port", "8000", "--port: input should be a valid integer"),  # strict: no conversion
        ("read_timeout", 0.0, "--read-timeout must be a positive number of seconds"),
        ("read_timeout", -5.0, "--read-timeout must be a positive number of seconds"),
        ("read_timeout", float("nan"), "--read-timeout must be a positive number of seconds"),
        ("keep_alive_timeout", 0, "--keep-alive-timeout must be a positive number of seconds"),
        ("allowed_hosts", ["evil example"], "--allowed-host takes a host name or address"),
        ("allowed_hosts", ["http://example.com"], "--allowed-host takes a host name or address"),
        ("allowed_hosts", [], "--allowed-host: give at least one host name"),
        ("host", "local host", "--host 'local host' is not an address to listen on"),
        ("forwarded_allow_ips", "10.0.0.1,proxy one", "--forwarded-allow-ips '10.0.0.1,proxy one': 'proxy one'"),
        ("database_url", " ", "--database-url is empty"),
        ("workers", 0, "--workers must be at least 1, not 0"),
    ],
)
def test_each_option_is_checked_in_every_mode(mode: str, option: str, value: Any, says: str) -> None:
    assert problem(**MODES[mode], **{option: value}).startswith(says)


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({}, "give the model to serve (`malmoi serve MODEL_DIR`), or a registry"),
        ({"model_dir": "m", "registry": "r"}, "give a model to serve or --registry DIR, not both"),
        ({"model_dir": "m", "ray": True}, "--ray, --replicas and --ray-address serve a registry: add --registry"),
        ({"model_dir": "m", "replicas": 2}, "--ray, --replicas and --ray-address serve a registry"),
        ({"model_dir": "m", "cache_mb": 64.0}, "--cache-mb goes with --registry DIR, not with one model"),
        ({"model_dir": "m", "require_keys": False}, "--no-keys goes with --registry DIR"),
        ({"model_dir": "m", "review_dir": "."}, "--review-dir does not go with one model: use --review-data"),
        ({"registry": "r", "review_data": "."}, "--review-data does not go with --registry: use --review-dir"),
        ({"registry": "r", "workers": 2}, "--registry serves from one process"),
        ({"registry": "r", "scenarios": "mybot.actions"}, "--scenarios goes with one model, not with --registry"),
        ({"registry": "r", "replicas": 2}, "--replicas and --ray-address are options of --ray: add --ray"),
        ({"registry": "r", "ray_address": "auto"}, "--replicas and --ray-address are options of --ray"),
        ({"registry": "r", "ray": True, "replicas": 0}, "--replicas must be at least 1, not 0"),
        ({"registry": "r", "ray": True, "review_dir": "."}, "--review-dir is not served on Ray"),
        ({"registry": "r", "ray": True, "forwarded_allow_ips": "::1"}, "--forwarded-allow-ips is not used on Ray"),
        ({"registry": "r", "ray": True, "access_log": True}, "--access-log is not used on Ray"),
        ({"registry": "r", "ray": True, "keep_alive_timeout": 30}, "--keep-alive-timeout is not used on Ray"),
        ({"registry": "r", "cache_mb": 0.0}, "--cache-mb must be a positive number, not 0"),
        ({"registry": "r", "ray": True, "cpus_per_replica": 0.0}, "--cpus-per-replica must be a positive number"),
        ({"model_dir": "m", "scenarios": "my bot"}, "--scenarios 'my bot' is not a Python module"),
        ({"model_dir": "m", "prot": 8000}, "prot is not a server option"),
    ],
)
def test_options_that_do_not_go_with_the_mode_are_refused(options: dict[str, Any], says: str) -> None:
    assert problem(**options).startswith(says)


def test_review_folders_are_checked(tmp_path: Path) -> None:
    assert problem(model_dir="m", review_data=tmp_path / "none") == f"--review-data {tmp_path / 'none'}: no such folder"
    assert "is not a bot directory (no bot.yaml)" in problem(model_dir="m", review_data=tmp_path)
    assert "no such folder" in problem(registry="r", review_dir=tmp_path / "none")
    (tmp_path / "bot.yaml").write_text("name: x\n", "utf-8")
    assert ServeSettings(model_dir="m", review_data=str(tmp_path)).review_data == tmp_path


def test_allowed_hosts_default_to_the_loopback_names_and_the_host() -> None:
    assert ServeSettings(model_dir="m").allowed_hosts == ("localhost", "127.0.0.1", "::1")
    assert ServeSettings(registry="r", host="10.0.0.5").allowed_hosts == ("localhost", "127.0.0.1", "::1", "10.0.0.5")
    assert default_allowed_hosts("::1") == ("localhost", "127.0.0.1", "::1")
    given = ServeSettings(model_dir="m", host="0.0.0.0", allowed_hosts=["bot.example.com"])
    assert given.allowed_hosts == ("bot.example.com",)  # as given: not added to


def test_the_workers_copy_comes_back_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    for settings in [ServeSettings(model_dir="m", workers=2, read_timeout=None, allowed_hosts=["*"]),
                     ServeSettings(registry="r", ray=True, replicas=3, cache_mb=64.5, require_keys=False)]:
        settings.to_environment()
        assert ServeSettings.from_environment() == settings
    monkeypatch.setenv(ENV_SETTINGS, json.dumps({"model_dir": "m", "port": 99999}))
    with pytest.raises(ValidationError):
        ServeSettings.from_environment()


def test_settings_load_neither_fastapi_nor_torch() -> None:
    """The command and uvicorn's supervising process read the settings; neither may load the server."""
    code = ("import sys, malmoi.serve.settings as s; s.ServeSettings(model_dir='m'); "
            "print(sorted(m for m in ('torch', 'fastapi', 'uvicorn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
