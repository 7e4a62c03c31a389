"""The review API of the one-bot server and `malmoi review` on the same message log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the server tests need the serve extra: pip install 'malmoi[serve]'")
from fastapi import testclient

from malmoi.cli import main
from malmoi.review import INTENTS_FILE, LEDGER, OOD_FILE
from malmoi.serve import create_app

UNSURE = ["우산 챙겨야 할까", "우산 챙겨야 할까?", "노래 한 곡 틀어줘"]


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.sqlite3'}"


@pytest.fixture
def client(tiny_model_dir: Path, tiny_bot: Path, database: str) -> Iterator[testclient.TestClient]:
    app = create_app(tiny_model_dir, database_url=database, review_data=tiny_bot)
    with testclient.TestClient(app, base_url="http://localhost", client=("127.0.0.1", 50000)) as client:
        for text in UNSURE:
            assert client.post("/v1/parse", json={"text": text}).status_code == 200
        app.state.store.flush()
        yield client


def test_review_lists_answers_and_forgets_what_was_answered(client: testclient.TestClient, tiny_bot: Path) -> None:
    page = client.get("/review")
    assert page.status_code == 200 and 'data-api="v1/review"' in page.text
    assert client.get("/review-assets/review.js").status_code == 200
    listed = client.get("/v1/review", params={"below": 1.0}).json()
    assert listed["bot"] == "tiny" and listed["intents"] == ["greeting", "restaurant", "weather"]
    assert {i["text"] for g in listed["groups"] for i in g["items"]} == set(UNSURE)
    by_text = {i["text"]: i for g in listed["groups"] for i in g["items"]}
    assert len(by_text[UNSURE[0]]["guesses"]) == 3

    ids = by_text[UNSURE[0]]["message_ids"]
    answer = client.post("/v1/review", json={"answers": [{"message_ids": ids, "intent": "weather"}]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["written"] == [str(INTENTS_FILE)]
    ood_ids = by_text[UNSURE[2]]["message_ids"]
    ood = client.post("/v1/review", json={"answers": [{"message_ids": ood_ids, "out_of_domain": True}]})
    assert ood.status_code == 200
    assert json.loads((tiny_bot / LEDGER).read_text("utf-8").splitlines()[0])["reviewer"] == "local"
    assert "노래 한 곡 틀어줘" in (tiny_bot / OOD_FILE).read_text("utf-8")
    listed = client.get("/v1/review", params={"below": 1.0}).json()
    assert {i["text"] for g in listed["groups"] for i in g["items"]} == {UNSURE[1]}

    again = client.post("/v1/review", json={"answers": [{"message_ids": ids, "intent": "greeting"}]})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_reviewed"


@pytest.mark.parametrize(("answer", "status", "message"), [
    ({"message_ids": [1], "intent": "shopping"}, 422, "no intent 'shopping'"),
    ({"message_ids": [1], "intent": "weather", "markup": "[우산](THING) 챙겨야 할까"}, 422, "no entity type 'THING'"),
    ({"message_ids": [999], "intent": "weather"}, 422, "no message 999"),
    ({"message_ids": [1, 2], "intent": "weather"}, 422, "say different things"),
    ({"message_ids": [], "intent": "weather"}, 422, "message_ids"),
    ({"message_ids": [1]}, 422, "give the intent they should have, or answer out of domain"),
])
def test_bad_answers_are_4xx_json_and_write_nothing(client: testclient.TestClient, tiny_bot: Path, answer: dict,
                                                    status: int, message: str) -> None:
    response = client.post("/v1/review", json={"answers": [answer]})
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]
    assert not (tiny_bot / INTENTS_FILE).exists()


def test_review_answers_only_this_machine(tiny_model_dir: Path, tiny_bot: Path, database: str) -> None:
    app = create_app(tiny_model_dir, database_url=database, review_data=tiny_bot)
    with testclient.TestClient(app, base_url="http://localhost", client=("10.0.0.7", 50000)) as remote:
        for path in ("/review", "/v1/review"):
            response = remote.get(path)
            assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
        body = {"answers": [{"message_ids": [1], "intent": "weather"}]}
        assert remote.post("/v1/review", json=body).status_code == 403


def test_without_review_data_there_is_no_review_page(tiny_model_dir: Path, database: str) -> None:
    with testclient.TestClient(create_app(tiny_model_dir, database_url=database), base_url="http://localhost") as c:
        assert c.get("/v1/review").status_code == 404


def test_cli_lists_and_answers(client: testclient.TestClient, tiny_model_dir: Path, tiny_bot: Path, database: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    common = [str(tiny_bot), "--model", str(tiny_model_dir), "--database-url", database]
    assert main(["review", "list", *common, "--below", "1", "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)
    ids = next(i["message_ids"] for g in groups for i in g["items"] if i["text"] == UNSURE[2])
    assert main(["review", "answer", *common, "--message", ",".join(map(str, ids)), "--ood",
                 "--reviewer", "mina"]) == 0
    assert "out of domain" in capsys.readouterr().out
    assert main(["review", "log", str(tiny_bot)]) == 0
    assert "cli:mina" in capsys.readouterr().out
    assert main(["review", "list", *common, "--below", "1"]) == 0
    out = capsys.readouterr().out
    assert UNSURE[0] in out and UNSURE[2] not in out
    # Mistakes are one line and exit 2: an unknown intent, a message of nobody, no model.
    assert main(["review", "answer", *common, "--message", str(ids[0]), "--intent", "shopping"]) == 2
    assert "no intent 'shopping'" in capsys.readouterr().err
    assert main(["review", "answer", *common, "--message", "x1", "--intent", "weather"]) == 2
    assert "message ids" in capsys.readouterr().err
    assert main(["review", "list", str(tiny_bot), "--database-url", database]) == 2
    assert "--model MODEL_DIR, or --registry" in capsys.readouterr().err


def test_retrain_without_test_data_says_what_to_make(tiny_bot: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["retrain", str(tiny_bot), "--registry", str(tmp_path / "registry"), "--bot", "tiny"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"no test data at {tiny_bot / 'test'}" in err and "--test DIR" in err
    assert main(["retrain", str(tiny_bot), "--bot", "tiny", "--tolerance", "-1"]) == 2
    assert "--tolerance must be 0 or more" in capsys.readouterr().err


def test_a_page_of_another_site_cannot_answer(client: testclient.TestClient, tiny_bot: Path) -> None:
    body = {"answers": [{"message_ids": [1], "intent": "weather"}]}
    response = client.post("/v1/review", json=body, headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "cross_site_request"
    assert not (tiny_bot / INTENTS_FILE).exists()


def test_serve_review_options_are_checked_before_starting(tiny_model_dir: Path, tiny_bot: Path, database: str,
                                                          tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    serve = ["serve", str(tiny_model_dir), "--database-url", database]
    assert main([*serve, "--review-data", str(tmp_path / "nothing")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main([*serve, "--review-data", str(tiny_bot / "data")]) == 2
    assert "not a bot directory" in capsys.readouterr().err
    assert main([*serve, "--review-dir", str(tmp_path)]) == 2
    assert "--review-dir does not go with one model" in capsys.readouterr().err


def test_retrain_with_a_missing_live_version_fails_before_training(
    tiny_bot: Path, tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shutil

    import malmoi
    from malmoi.bots import Registry

    registry = Registry(tmp_path / "registry")
    registry.publish(tiny_model_dir, bot="tiny")
    shutil.rmtree(registry.version_dir("tiny", "v000001"))
    shutil.copytree(tiny_bot, tiny_bot / "test")  # held-out data, as retrain expects

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("retrain trained before checking the live version")

    monkeypatch.setattr(malmoi, "train", refuse)
    code = main(["retrain", str(tiny_bot), "--registry", str(registry.root), "--bot", "tiny"])
    err = capsys.readouterr().err
    assert code == 2 and "v000001 of tiny is missing" in err and "malmoi rollback --bot tiny --to" in err
    assert "--out" not in err and "Traceback" not in err
