"""Scenarios: validation against the model, Python actions, webhooks, answer templates."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from fake_model import CONFIG, FakeModel
from pydantic import ValidationError

from malmoi.dialogue import Dialogue, ScenarioError, Scenarios, Slot
from malmoi.dialogue.template import render, template_fields
from malmoi.settings import BotConfig

# -- templates -------------------------------------------------------------------------------


def test_template_fields_in_order_and_literal_braces() -> None:
    assert template_fields("{DATE} {LOCATION} {{맑음}}") == ["DATE", "LOCATION"]
    assert render("{DATE} {LOCATION} {{맑음}}", {"DATE": "내일", "LOCATION": "부산"}) == "내일 부산 {맑음}"


@pytest.mark.parametrize(
    "template", ["{LOCATION", "LOCATION}", "{}", "{0}", "{LOCATION.upper}", "{X[0]}", "{X!r}", "{X:{Y}}", "{X:zz}"]
)
def test_template_rejects_anything_but_plain_names_and_value_formats(template: str) -> None:
    with pytest.raises(ValueError, match="template"):
        template_fields(template)


def test_a_format_shows_the_resolved_value_and_the_text_without_one() -> None:
    from datetime import timedelta, timezone

    values = {"DATE": "다음 주 금요일", "COUNT": "이천삼백", "CITY": "서울특별시"}
    resolved = {"DATE": "2024-05-24T12:00:00+00:00", "COUNT": 2300}
    seoul = timezone(timedelta(hours=9))
    shown = render("{DATE:%-m월 %-d일 %H시} {COUNT:,}명 {CITY}", values, resolved, seoul)
    assert shown == "5월 24일 21시 2,300명 서울특별시"
    assert render("{DATE:%m월 %d일}", values, {}, seoul) == "다음 주 금요일"  # no resolved value: the text
    weekend = {"from": "2024-05-25T00:00:00+09:00", "to": "2024-05-27T00:00:00+09:00"}
    assert render("{DATE:%-d일}", values, {"DATE": weekend}, seoul) == "25일 ~ 26일"


def test_render_missing_value_names_it() -> None:
    with pytest.raises(KeyError, match="LOCATION"):
        render("{LOCATION}", {})


# -- bot.yaml validation ---------------------------------------------------------------------


def test_config_answer_must_use_declared_entities() -> None:
    with pytest.raises(ValidationError, match=r"uses \{DATE\}.*declare it under `entities:`"):
        BotConfig.model_validate({"scenarios": {"weather": {"entities": {"LOCATION": {}}, "answer": "{DATE}"}}})


def test_config_answer_with_webhook_may_use_its_reply_fields() -> None:
    config = BotConfig.model_validate(
        {"scenarios": {"weather": {"entities": {"LOCATION": {}}, "answer": "{LOCATION} {forecast}",
                                   "webhook": {"url": "http://127.0.0.1:9/weather"}}}}
    )
    assert config.scenarios["weather"].webhook.timeout == 3.0


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ({"entities": {"지역 이름": {}}, "answer": "x"}, "entity types are letters"),
        ({"webhook": {"url": "ftp://example"}}, "should match pattern"),
        ({"webhook": {"url": "http://x", "timeout": 0}}, "greater than 0"),
        ({"answer": "x", "actoin": "y"}, "Extra inputs"),
    ],
)
def test_config_rejects_bad_scenarios(scenario: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BotConfig.model_validate({"scenarios": {"weather": scenario}})


# -- resolving against the model -------------------------------------------------------------


def with_scenarios(**scenarios: dict) -> FakeModel:
    config = copy.deepcopy(CONFIG)
    config["scenarios"] = scenarios
    config["dialogue"]["answers"] = {}
    return FakeModel(config)


def test_resolve_unknown_intent_suggests_the_close_one() -> None:
    with pytest.raises(ScenarioError, match=r"'wether'.*did you mean 'weather'"):
        Dialogue(with_scenarios(wether={"answer": "x"}))


def test_resolve_entity_the_model_never_tags() -> None:
    with pytest.raises(ScenarioError, match=r"'LOCATON'.*never tags.*did you mean 'LOCATION'"):
        Dialogue(with_scenarios(weather={"entities": {"LOCATON": {}}, "answer": "{LOCATON}"}))


def test_resolve_accept_text_entity_needs_no_tagger() -> None:
    bot = Dialogue(with_scenarios(weather={"entities": {"CITY": {"accept_text": True}}, "answer": "{CITY} 맑음"}))
    assert [bot.chat("u", t).answer for t in ("날씨", "울릉")] == ["CITY을(를) 알려주세요.", "울릉 맑음"]


def test_resolve_scenario_without_any_answer() -> None:
    with pytest.raises(ScenarioError, match="no way to answer"):
        Dialogue(with_scenarios(weather={"entities": {"LOCATION": {}}}))


def test_resolve_fixed_answer_for_unknown_intent() -> None:
    config = copy.deepcopy(CONFIG)
    config["dialogue"]["answers"] = {"greting": "hi"}
    with pytest.raises(ScenarioError, match=r"dialogue\.answers\.greting.*did you mean 'greeting'"):
        Dialogue(FakeModel(config))


# -- Python actions --------------------------------------------------------------------------


def test_python_scenario_gets_entities_as_keyword_arguments() -> None:
    scenarios = Scenarios()
    calls = []

    @scenarios.scenario("weather", entities={"LOCATION": Slot(question="어디요?"), "DATE": Slot(default="오늘")})
    def weather(location: str, date: str) -> str:
        calls.append((location, date))
        return f"{date} {location} 비"

    bot = Dialogue(with_scenarios(), scenarios=scenarios)
    assert [bot.chat("u", t).answer for t in ("날씨", "부산")] == ["어디요?", "오늘 부산 비"]
    assert calls == [("부산", "오늘")]


def test_python_action_values_fill_the_answer_template() -> None:
    scenarios = Scenarios()

    @scenarios.scenario("weather", entities={"LOCATION": {}}, answer="{LOCATION}: {forecast}, {degrees}도")
    def weather(**slots: str) -> dict:
        return {"forecast": "맑음", "degrees": 21}

    bot = Dialogue(with_scenarios(), scenarios=scenarios)
    assert bot.chat("u", "부산 날씨").answer == "부산: 맑음, 21도"


def test_python_action_attached_to_a_bot_yaml_scenario(fake_model: FakeModel) -> None:
    scenarios = Scenarios()

    @scenarios.action("weather")
    def weather(location: str, date: str) -> None:
        return None  # the bot.yaml template answers

    bot = Dialogue(fake_model, scenarios=scenarios)
    assert bot.chat("u", "내일 부산 날씨").answer == "내일 부산 맑음"


def test_python_action_failure_gives_failure_answer_and_fail_state(fake_model: FakeModel) -> None:
    scenarios = Scenarios()

    @scenarios.scenario("weather", entities={"LOCATION": {}}, failure_answer="날씨 서비스가 쉬고 있어요.")
    def weather(location: str) -> str:
        raise ConnectionError("weather service down")

    bot = Dialogue(fake_model, scenarios=scenarios)
    reply = bot.chat("u", "부산 날씨")
    assert reply.answer == "날씨 서비스가 쉬고 있어요." and reply.state.status == "FAIL"
    assert bot.state("u").status == "FAIL"
    assert bot.store.messages(user_id="u")[-1]["status"] == "FAIL"


def test_python_action_for_undeclared_scenario(fake_model: FakeModel) -> None:
    scenarios = Scenarios()
    scenarios.action("dust")(lambda **slots: "x")
    with pytest.raises(ScenarioError, match=r"action\('dust'\) has no scenario"):
        Dialogue(fake_model, scenarios=scenarios)


def test_python_action_parameter_must_name_an_entity(fake_model: FakeModel) -> None:
    scenarios = Scenarios()
    scenarios.action("weather")(lambda city: "x")
    with pytest.raises(ScenarioError, match="takes `city`, which is not one of its entities"):
        Dialogue(fake_model, scenarios=scenarios)


# -- webhooks --------------------------------------------------------------------------------


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Hook.received.append({"path": self.path, "body": body, "token": self.headers.get("X-Token")})
        if self.path == "/slow":
            time.sleep(1.0)
        status, reply = {
            "/ok": (200, {"forecast": "흐림"}),
            "/answer": (200, {"answer": "웹훅이 답했어요"}),
            "/error": (500, {"detail": "boom"}),
            "/list": (200, [1, 2]),
        }.get(self.path, (200, {}))
        data = json.dumps(reply).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the slow case: the client gave up

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    _Hook.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def webhook_scenario(url: str, answer: str | None = "{LOCATION} {forecast}", timeout: float = 3.0,
                     token: str = "${HOOK_TOKEN}") -> dict:
    scenario = {
        "entities": {"LOCATION": {}, "DATE": {"default": "오늘"}},
        "webhook": {"url": url, "timeout": timeout, "headers": {"X-Token": token}},
        "failure_answer": "지금은 알 수 없어요.",
    }
    if answer is not None:
        scenario["answer"] = answer
    return scenario


def webhook_bot(url: str, answer: str | None = "{LOCATION} {forecast}", timeout: float = 3.0) -> Dialogue:
    return Dialogue(with_scenarios(weather=webhook_scenario(url, answer, timeout)), environ={"HOOK_TOKEN": "s3cr3t"})


def test_webhook_posts_slots_and_fills_template(hook_url: str) -> None:
    reply = webhook_bot(hook_url + "/ok").chat("u9", "부산 날씨")
    assert reply.answer == "부산 흐림" and reply.state.status == "SUCCESS"
    (call,) = _Hook.received
    assert call["token"] == "s3cr3t"  # the reference in bot.yaml, resolved from the server's environment
    assert call["body"] == {"bot": "fake", "intent": "weather", "user_id": "u9", "text": "부산 날씨",
                            "slots": {"LOCATION": "부산", "DATE": "오늘"}, "resolved": {}}


def test_webhook_answer_field_without_template(hook_url: str) -> None:
    assert webhook_bot(hook_url + "/answer", answer=None).chat("u", "부산 날씨").answer == "웹훅이 답했어요"


@pytest.mark.parametrize("path", ["/error", "/list", "/missing-field"])
def test_webhook_bad_reply_gives_failure_answer(hook_url: str, path: str) -> None:
    reply = webhook_bot(hook_url + path).chat("u", "부산 날씨")
    assert (reply.answer, reply.state.status) == ("지금은 알 수 없어요.", "FAIL")


def test_webhook_timeout_gives_failure_answer_in_time(hook_url: str) -> None:
    bot = webhook_bot(hook_url + "/slow", timeout=0.2)
    started = time.monotonic()
    assert bot.chat("u", "부산 날씨").answer == "지금은 알 수 없어요."
    assert time.monotonic() - started < 0.9


def test_webhook_unreachable_gives_failure_answer() -> None:
    bot = webhook_bot("http://127.0.0.1:9/nothing-listens-here", timeout=0.5)
    assert bot.chat("u", "부산 날씨").state.status == "FAIL"


def test_a_literal_webhook_credential_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"literal credential.*X-Token: \"\$\{X_TOKEN\}\""):
        with_scenarios(weather=webhook_scenario("http://127.0.0.1:9/x", token="s3cr3t-value"))
    with pytest.raises(ValueError, match=r"holds a password"):
        with_scenarios(weather=webhook_scenario("https://shop:pa55@127.0.0.1:9/x"))
    with pytest.raises(ValueError, match=r"parameter `api_key`"):
        with_scenarios(weather=webhook_scenario("https://127.0.0.1:9/x?city=1&api_key=abc123"))


def test_a_missing_webhook_variable_stops_the_start_naming_it() -> None:
    model = with_scenarios(weather=webhook_scenario("http://127.0.0.1:9/x"))
    with pytest.raises(ScenarioError, match=r"HOOK_TOKEN \(scenario 'weather'\)"):
        Dialogue(model, environ={})


def test_a_model_saved_with_a_literal_credential_still_loads() -> None:
    """Before the rule, a literal header could be saved with a model: it still loads and works."""
    from malmoi.settings import STORED, BotConfig

    config = {"name": "old", "scenarios": {"weather": webhook_scenario("http://127.0.0.1:9/x", token="legacy")}}
    loaded = BotConfig.model_validate(config, context=STORED)
    assert loaded.scenarios["weather"].webhook.headers == {"X-Token": "legacy"}
