"""Conversation tests (test/conversations/*.yml): reading them with file and line, running them
against a model's dialogue (FakeModel: exact and instant), and their JUnit XML."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fake_model import CONFIG, FakeModel

from malmoi.data.conversations import read_conversations
from malmoi.data.problems import DataError
from malmoi.dialogue.testing import run_conversation_tests, write_junit
from malmoi.model.result import EntitySpan, IntentScore, ParseResult
from malmoi.outputs import OutputError, check_file

WEATHER = """conversations:
  - name: weather asks for the city
    now: 2024-05-15T10:30:00+09:00
    steps:
      - user: 날씨 알려줘
        intent: weather
        bot: 어느 지역이요?
      - user: 부산
        entities: {LOCATION: 부산}
        bot: /부산 맑음$/
"""


def write(bot: Path, name: str, text: str) -> Path:
    folder = bot / "test" / "conversations"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, "utf-8")
    return path


def shop_config() -> dict:
    """CONFIG with the restaurant scenario answered by a webhook."""
    config = copy.deepcopy(CONFIG)
    config["scenarios"]["restaurant"] = {
        "entities": {"LOCATION": {"question": "어느 동네요?"}, "RESTAURANT": {"question": "무슨 음식이요?"}},
        "webhook": {"url": "https://shop.example/api", "headers": {"Authorization": "Bearer ${SHOP_TOKEN}"}},
        "answer": "{LOCATION} {RESTAURANT} 맛집은 {name}이에요.",
        "failure_answer": "지금은 못 찾았어요.",
    }
    return config


# -- reading -----------------------------------------------------------------------------------


def test_read_keeps_every_step_with_its_line_and_the_reference_time(tmp_path: Path) -> None:
    write(tmp_path, "weather.yml", WEATHER)
    conversations, problems = read_conversations(tmp_path, intents=["weather"], entity_types=["LOCATION"])
    assert problems == []
    (conversation,) = conversations
    assert conversation.name == "weather asks for the city" and conversation.line == 2
    assert conversation.now == datetime(2024, 5, 15, 10, 30, tzinfo=timezone(timedelta(hours=9)))
    first, second = conversation.steps
    assert (first.user, first.line, first.intent, str(first.bot)) == ("날씨 알려줘", 5, "weather", "어느 지역이요?")
    assert first.bot is not None and first.bot.pattern is None
    assert second.entities == (("LOCATION", ("부산",)),)
    assert second.bot is not None and second.bot.matches("오늘 부산 맑음") and not second.bot.matches("부산 흐림")


def test_a_yes_stays_the_text_yes(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", "conversations:\n  - name: yes\n    steps:\n      - user: yes\n        bot: no\n")
    (conversation,), problems = read_conversations(tmp_path)
    assert problems == [] and conversation.name == "yes"
    assert conversation.steps[0].user == "yes" and str(conversation.steps[0].bot) == "no"


@pytest.mark.parametrize(("text", "line", "found"), [
    ("conversations:\n  - name: a\n    steps:\n      - user: 안녕\n        intnet: greeting\n", 5, "intnet"),
    ("conversations:\n  - name: a\n    now: 2024-05-15T10:30:00\n    steps:\n      - user: 안녕\n", 3,
     "without a UTC offset"),
    ("conversations:\n  - name: a\n    steps:\n      - user: 안녕\n        bot: /(unclosed/\n", 5, "does not compile"),
    ("conversations:\n  - name: a\n    steps:\n      - user: 안녕\n        intent: wether\n", 5, "`wether`"),
    ("conversations:\n  - name: a\n", 2, "without `steps:`"),
    ("conversations:\n  - name: a\n    steps:\n      - bot: 안녕\n", 4, "no `user:`"),
    ("conversations:\n  - name: a\n    steps: [\n", 4, "YAML"),
    ("talks:\n  - name: a\n", 1, "`talks`"),
])
def test_problems_name_the_file_and_line(tmp_path: Path, text: str, line: int, found: str) -> None:
    path = write(tmp_path, "bad.yml", text)
    conversations, problems = read_conversations(tmp_path, intents=["greeting", "weather"])
    assert conversations == []
    assert problems and all(p.severity == "error" for p in problems)
    assert (problems[0].file, problems[0].line) == (str(path), line)
    assert found in str(problems[0])


def test_a_second_conversation_of_the_same_name_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", "conversations:\n  - name: a\n    steps:\n      - user: 안녕\n")
    path = write(tmp_path, "b.yml", "conversations:\n  - name: a\n    steps:\n      - user: 하이\n")
    _, problems = read_conversations(tmp_path)
    assert [(p.file, p.line) for p in problems] == [(str(path), 2)]
    assert "a.yml:2" in str(problems[0])


def test_an_unknown_entity_type_is_a_warning_with_the_likely_name(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", "conversations:\n  - name: a\n    steps:\n      - user: 부산\n"
          "        entities: {LOCATON: 부산}\n")
    conversations, problems = read_conversations(tmp_path, entity_types=["LOCATION"])
    assert len(conversations) == 1
    assert [p.severity for p in problems] == ["warning"] and "LOCATION" in str(problems[0])


def test_no_folder_is_no_tests_and_no_problem(tmp_path: Path) -> None:
    assert read_conversations(tmp_path) == ([], [])


# -- running -----------------------------------------------------------------------------------


def test_a_passing_conversation_passes_and_parses_at_its_reference_time(tmp_path: Path) -> None:
    write(tmp_path, "weather.yml", WEATHER)
    model = FakeModel(CONFIG)
    report = run_conversation_tests(model, tmp_path)
    assert report.ok and len(report.results) == 1, report.failure_lines()
    assert [s.answer for s in report.results[0].steps] == ["어느 지역이요?", "오늘 부산 맑음"]
    assert model.last_now == datetime(2024, 5, 15, 10, 30, tzinfo=timezone(timedelta(hours=9)))


def test_a_failing_step_says_what_was_expected_and_what_came(tmp_path: Path) -> None:
    write(tmp_path, "weather.yml", WEATHER)
    write(tmp_path, "wrong.yml", """conversations:
  - name: wrong answers
    steps:
      - user: 안녕
        intent: greeting
      - user: 게임 하자
        intent: weather
        bot: 어느 지역이요?
      - user: 서울 냉면 맛집
        entities: {LOCATION: 부산}
""")
    report = run_conversation_tests(FakeModel(CONFIG), tmp_path)
    assert not report.ok and [r.conversation.name for r in report.failed] == ["wrong answers"]
    result = report.failed[0]
    assert [s.number for s in result.failed_steps] == [2, 3]
    lines = "\n".join(report.failure_lines())
    assert "FAIL wrong answers" in lines and "wrong.yml:6" in lines
    assert "intent: expected weather, got fallback (nearest greeting" in lines
    assert "bot: expected '어느 지역이요?', got '다시 말해 주세요.'" in lines  # the fallback answers take turns
    assert "entities: expected LOCATION=부산, got LOCATION=서울, RESTAURANT=냉면" in lines
    assert report.summary().endswith("1 passed, 1 failed")


def test_each_conversation_starts_fresh(tmp_path: Path) -> None:
    # The first conversation leaves the weather scenario asking for a city; the second must not answer it.
    write(tmp_path, "a.yml", """conversations:
  - name: asks
    steps:
      - user: 날씨 알려줘
        bot: 어느 지역이요?
  - name: a city alone starts nothing
    steps:
      - user: 부산
        intent: restaurant
        bot: 모르겠어요.
""")
    report = run_conversation_tests(FakeModel(CONFIG), tmp_path)
    assert report.ok, report.failure_lines()


def test_a_webhook_answers_the_steps_reply_and_is_never_called(tmp_path: Path, monkeypatch) -> None:
    import httpx

    def no_network(*args, **kwargs):
        raise AssertionError("a conversation test called the network")

    monkeypatch.setattr(httpx.Client, "send", no_network)
    monkeypatch.delenv("SHOP_TOKEN", raising=False)  # the test needs no credential either
    write(tmp_path, "shop.yml", """conversations:
  - name: recorded reply
    steps:
      - user: 부산 냉면 맛집
        webhook_reply: {name: 할매냉면}
        bot: 부산 냉면 맛집은 할매냉면이에요.
  - name: no reply given is the service down
    steps:
      - user: 부산 냉면 맛집
        bot: 지금은 못 찾았어요.
""")
    report = run_conversation_tests(FakeModel(shop_config()), tmp_path)
    assert report.ok, report.failure_lines()
    assert [r.steps[0].status for r in report.results] == ["SUCCESS", "FAIL"]


def test_entities_match_the_text_or_the_resolved_value(tmp_path: Path) -> None:
    class Resolving(FakeModel):
        def parse(self, text: str, *, now: datetime | None = None) -> ParseResult:
            span = EntitySpan.model_construct(entity="DATE", value="내일", start=0, end=2)
            object.__setattr__(span, "resolved", {"date": "2024-05-16"})
            return ParseResult(text=text, intent=IntentScore(name="weather", confidence=0.9),
                               intent_ranking=[IntentScore(name="weather", confidence=0.9)], fallback=False,
                               entities=[span])

    write(tmp_path, "a.yml", """conversations:
  - name: the text
    steps:
      - user: 내일
        entities: {DATE: 내일}
  - name: the resolved value
    steps:
      - user: 내일
        entities: {DATE: 2024-05-16}
  - name: neither
    steps:
      - user: 내일
        entities: {DATE: 2024-05-17}
""")
    report = run_conversation_tests(Resolving(CONFIG), tmp_path)
    assert [r.passed for r in report.results] == [True, True, False]


def test_a_file_with_errors_runs_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yml", "conversations:\n  - name: a\n")
    with pytest.raises(DataError) as raised:
        run_conversation_tests(FakeModel(CONFIG), tmp_path)
    assert f"{path}:2" in str(raised.value)


# -- JUnit ---------------------------------------------------------------------------------------


def test_junit_has_a_case_per_conversation_and_a_failure_per_failed_one(tmp_path: Path) -> None:
    write(tmp_path, "weather.yml", WEATHER)
    write(tmp_path, "wrong.yml", "conversations:\n  - name: wrong\n    steps:\n      - user: 안녕\n"
          "        intent: weather\n")
    report = run_conversation_tests(FakeModel(CONFIG), tmp_path)
    path = write_junit(report, tmp_path / "junit.xml")
    root = ET.parse(path).getroot()
    assert (root.tag, root.get("tests"), root.get("failures")) == ("testsuites", "2", "1")
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"weather asks for the city", "wrong"}
    assert cases["weather asks for the city"].find("failure") is None
    failure = cases["wrong"].find("failure")
    assert failure is not None and "intent: expected weather, got greeting" in (failure.text or "")
    # malmoi may overwrite its own JUnit file, and nothing else.
    check_file(path, "--junit", "junit")
    other = tmp_path / "results.xml"
    other.write_text("<?xml version='1.0'?><testsuites/>", "utf-8")
    with pytest.raises(OutputError):
        check_file(other, "--junit", "junit")


# -- the HTML report -----------------------------------------------------------------------------


def test_the_report_shows_each_conversation_and_opens_a_failed_one(tmp_path: Path) -> None:
    pytest.importorskip("plotly", reason="the HTML report needs plotly: pip install 'malmoi[report]'")
    from malmoi.evaluate import Candidate, Evaluation, Record
    from malmoi.report import read_report, report_data, write_report

    write(tmp_path, "weather.yml", WEATHER)
    write(tmp_path, "wrong.yml", "conversations:\n  - name: <b>wrong</b>\n    steps:\n      - user: 안녕\n"
          "        intent: weather\n")
    report = run_conversation_tests(FakeModel(CONFIG), tmp_path)
    model = FakeModel(CONFIG)
    model.report = {"history": [{"epoch": 1, "loss": 1.0}], "epochs_run": 1}  # what report_data reads
    model.threshold = 0.5
    record = Record("안녕", "greeting", "greeting", (Candidate("greeting", 0.9),), 0.8, False, (), ())
    content = report_data(Evaluation.from_records([record], [], threshold=0.5), model)
    content["conversations"] = report.to_dict()
    page = write_report(tmp_path / "r.html", content).read_text("utf-8")
    assert '<section id="conversations">' in page and 'href="#conversations"' in page
    assert "1 of 2 conversation test(s) passed" in page
    assert "<details open><summary><span class=\"bad\">FAILED</span> · &lt;b&gt;wrong&lt;/b&gt;" in page
    assert "intent: expected weather, got greeting" in page
    assert read_report(tmp_path / "r.html")["conversations"]["failed"] == 1
    # without conversation tests, no section
    del content["conversations"]
    assert '<section id="conversations">' not in write_report(tmp_path / "r.html", content).read_text("utf-8")
