"""Out-of-domain files: ``.txt`` one utterance per line, or ``.csv`` with a ``question`` column."""

from __future__ import annotations

import pytest
from bot_dirs import only

from malmoi.data import DataError, load_bot, load_ood_file, validate_bot


def test_txt_and_kochat_csv_are_read(make_bot):
    bot = make_bot({
        "data/ood/chitchat.txt": "노래 틀어줘\n\n  알람   맞춰줘 \r\n",
        "data/ood/ood_data.csv": "question,label\n그림 틀어줄래,OOD\n\"환율, 알려줘\",OOD\n",
    })
    _, data = load_bot(bot)
    assert [(e.text, e.intent, e.entities) for e in data.ood] == [
        ("노래 틀어줘", None, ()), ("알람 맞춰줘", None, ()),
        ("그림 틀어줄래", None, ()), ("환율, 알려줘", None, ()),
    ]
    assert [e.source for e in data.ood] == [
        f"{bot}/data/ood/chitchat.txt:1", f"{bot}/data/ood/chitchat.txt:3",
        f"{bot}/data/ood/ood_data.csv:2", f"{bot}/data/ood/ood_data.csv:3",
    ]


def test_ood_folder_is_optional(make_bot):
    assert load_bot(make_bot())[1].ood == []


@pytest.mark.parametrize(("name", "content"), [("empty.txt", "\n \n"), ("empty.csv", "question\n")])
def test_empty_ood_file_is_a_warning(make_bot, name, content):
    bot = make_bot({f"data/ood/{name}": content})
    problem = only(validate_bot(bot), bot / "data/ood" / name, 1)
    assert problem.severity == "warning"
    assert problem.found in ("an empty file", "a header but no data rows")


def test_ood_csv_needs_a_question_column(make_bot):
    bot = make_bot({"data/ood/ood.csv": "text\n노래 틀어줘\n"})
    problem = only(validate_bot(bot), bot / "data/ood/ood.csv", 1)
    assert "a `question` column" in problem.expected


def test_ood_utterance_under_an_intent_too_is_an_error(make_bot):
    bot = make_bot({"data/ood/ood.txt": "노래 틀어줘\n안녕하세요\n"})
    problem = only(validate_bot(bot), bot / "data/ood/ood.txt", 2)
    assert "under intent `greeting`" in problem.found
    assert f"{bot / 'data/intents/greeting.csv'}:3" in problem.found


def test_ood_file_that_is_not_utf8(make_bot):
    bot = make_bot({"data/ood/ood.txt": "노래 틀어줘\n알람 맞춰줘\n".encode("euc-kr")})
    problem = only(validate_bot(bot), bot / "data/ood/ood.txt", 1)
    assert "iconv" in problem.hint


def test_other_files_in_the_ood_folder_are_warned_about(make_bot):
    bot = make_bot({"data/ood/ood.json": "[]", "data/ood/.DS_Store": b"\0"})
    problem = only(validate_bot(bot), bot / "data/ood/ood.json")
    assert problem.severity == "warning" and "`.json`" in problem.found


def test_load_ood_file(tmp_path):
    path = tmp_path / "ood.txt"
    path.write_text("노래 틀어줘\n알람 맞춰줘\n", "utf-8")
    assert [e.text for e in load_ood_file(path)] == ["노래 틀어줘", "알람 맞춰줘"]


@pytest.mark.parametrize(("name", "content"), [("ood.csv", "text\n노래\n"), ("ood.md", "노래\n"),
                                               ("missing.txt", None)])
def test_load_ood_file_raises_data_error(tmp_path, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_text(content, "utf-8")
    with pytest.raises(DataError) as error:
        load_ood_file(path)
    assert str(path) in str(error.value)
