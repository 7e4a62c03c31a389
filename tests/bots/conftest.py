"""Bots for the registry tests, and the conversation check that every multi-bot server must pass."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from malmoi.bots import KeyStore, Registry
from malmoi.bots.synthetic import perturbed_copy
from model_files import edit_model_json

# The weather intent as a scenario: ask for the place, default the date.
SCENARIO = {
    "scenarios": {"weather": {"entities": {"LOCATION": {"question": "어느 지역이요?"}, "DATE": {"default": "오늘"}},
                              "answer": "{DATE} {LOCATION} 맑음"}},
}


@pytest.fixture(scope="session")
def variant_dirs(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three distinct models of the tiny bot's shape: its own and two with perturbed heads."""
    root = tmp_path_factory.mktemp("variants")
    return [tiny_model_dir, *(perturbed_copy(tiny_model_dir, root / f"v{i}", scale=0.1, seed=i) for i in (1, 2))]


def publish_chat_bots(root: Path, variant_dirs: list[Path]) -> Registry:
    """A registry at ``root`` with bots alpha, beta and gamma (the variants), each with the weather scenario."""
    registry = Registry(root / "reg")
    for name, model_dir in zip(["alpha", "beta", "gamma"], variant_dirs):
        chat_dir = root / f"chat-{name}"
        shutil.copytree(model_dir, chat_dir)
        edit_model_json(chat_dir, lambda meta: meta["config"].update(SCENARIO))
        registry.publish(chat_dir, bot=name)
    return registry


@pytest.fixture
def registry(tmp_path: Path, variant_dirs: list[Path]) -> Registry:
    return publish_chat_bots(tmp_path, variant_dirs)


@pytest.fixture(scope="session")
def chat_bots_publisher() -> Callable[[Path, list[Path]], Registry]:
    """:func:`publish_chat_bots`, for a registry that lives longer than one test."""
    return publish_chat_bots


def check_conversations_are_kept_per_bot(client: Any, store: Any, headers: dict[str, str]) -> None:
    """One user's multi-turn conversations with alpha and beta, through any server of the registry.

    Args:
        client: an ``httpx.Client`` (a FastAPI TestClient is one) on the server.
        store: a :class:`~malmoi.dialogue.store.StateStore` on the server's database.
        headers: what every request sends (an admin key).
    """

    def chat(bot: str, text: str) -> dict:
        answer = client.post(f"/v1/bots/{bot}/chat", json={"user_id": "u1", "text": text}, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    assert chat("alpha", "날씨 알려줘")["state"]["status"].startswith("REQUIRE_LOCATION")
    assert chat("beta", "날씨 알려줘")["state"]["status"].startswith("REQUIRE_LOCATION")
    done = chat("alpha", "부산")
    assert done["state"]["status"] == "SUCCESS" and "부산" in done["answer"]
    # The same user id's conversation with beta is its own: still waiting for a location.
    beta_state, _ = store.load("beta", "u1")
    assert beta_state is not None and beta_state["status"].startswith("REQUIRE_LOCATION")
    assert client.delete("/v1/bots/beta/conversations/u1", headers=headers).status_code == 204
    assert store.load("beta", "u1")[0] is None and store.load("alpha", "u1")[0] is not None
    store.flush()
    assert {m["bot"] for m in store.messages(limit=50)} == {"alpha", "beta"}


def check_keys_isolate_bots(client: Any, registry: Registry) -> None:
    """A key for alpha opens alpha only: 403 on beta (and on a bot that does not exist), through any server."""
    keys = KeyStore(registry)
    alpha_key, _ = keys.create(bot="alpha")
    admin_key, _ = keys.create(admin=True)
    body = {"text": "내일 서울 날씨 알려줘"}
    assert client.post("/v1/bots/alpha/parse", json=body, headers=bearer(alpha_key)).status_code == 200
    for path in ["/v1/bots/beta/parse", "/v1/bots/beta/chat", "/v1/bots/no-such-bot/parse"]:
        answer = client.post(path, json={**body, "user_id": "u1"}, headers=bearer(alpha_key))
        assert answer.status_code == 403, path  # the same for a bot that does not exist: no probing
        assert answer.json()["error"]["code"] == "forbidden"
    assert client.delete("/v1/bots/beta/conversations/u1", headers=bearer(alpha_key)).status_code == 403
    assert client.get("/v1/stats", headers=bearer(alpha_key)).status_code == 403
    assert client.post("/v1/bots/beta/parse", json=body).json()["error"]["code"] == "missing_key"
    wrong = client.post("/v1/bots/beta/parse", json=body, headers=bearer("mlm_" + "x" * 43))
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_key")
    assert client.post("/v1/bots/beta/parse", json=body, headers=bearer(admin_key)).status_code == 200
    assert client.post("/v1/bots/nobody/parse", json=body, headers=bearer(admin_key)).status_code == 404
    keys.revoke(next(k.id for k in keys.list() if k.bot == "alpha"))
    assert client.post("/v1/bots/alpha/parse", json=body, headers=bearer(alpha_key)).status_code == 401


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def check_key_isolation() -> Callable[[Any, Registry], None]:
    """:func:`check_keys_isolate_bots`, for the test modules of every server."""
    return check_keys_isolate_bots


@pytest.fixture
def check_conversations() -> Callable[[Any, Any, dict[str, str]], None]:
    """:func:`check_conversations_are_kept_per_bot`, for the test modules of every server."""
    return check_conversations_are_kept_per_bot
