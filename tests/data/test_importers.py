"""Importing SNIPS/ATIS folders and CLINC150 JSON into bot directories that load_bot accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from malmoi.cli import main
from malmoi.data import DataError, Entity, load_bot
from malmoi.data.importers import import_clinc150, import_kochat, import_snips, read_clinc150, read_snips
from malmoi.errors import OutputError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"

# Five utterances per intent, so both intents pass the loader's default minimum.
SNIPS_TRAIN = [
    ("play some music by madonna", "O O O O B-artist", "PlayMusic"),
    ("play the new album of adele on spotify", "O O O B-music_item O B-artist O B-service", "PlayMusic"),
    ("play jazz", "O B-genre", "PlayMusic"),
    ("i want to hear the rolling stones", "O O O O B-artist I-artist I-artist", "PlayMusic"),
    ("play a song from 1999", "O O B-music_item O B-year", "PlayMusic"),
    ("what is the weather in paris", "O O O O O B-city", "GetWeather"),
    ("will it rain tomorrow in new york", "O O O B-timeRange O B-city I-city", "GetWeather"),
    ("weather forecast for texas", "O O O B-state", "GetWeather"),
    ("is it cold in oslo now", "O O B-condition_temperature O B-city B-timeRange", "GetWeather"),
    ("how hot will it be in june", "O B-condition_temperature O O O O B-timeRange", "GetWeather"),
]


def write_split(folder: Path, rows, *, trailing: str = " \n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(("seq.in", "seq.out", "label")):
        (folder / name).write_text("".join(row[index] + trailing for row in rows), "utf-8")
    return folder


@pytest.fixture
def snips(tmp_path: Path) -> Path:
    root = tmp_path / "snips"
    write_split(root / "train", SNIPS_TRAIN)
    write_split(root / "valid", SNIPS_TRAIN[:1] + [("play abba", "O B-artist", "PlayMusic")])
    return root


def messages(error: pytest.ExceptionInfo[DataError]) -> str:
    return "\n".join(map(str, error.value.problems))


# -- SNIPS / ATIS ---------------------------------------------------------------------------


def test_snips_import_makes_a_bot_that_loads(snips, tmp_path):
    result = import_snips(snips, tmp_path / "bot")
    assert result.notes == []
    config, data = load_bot(tmp_path / "bot")
    assert (config.name, config.language) == ("snips-train", "en")
    assert list(config.entities) == data.entity_types  # declared types, by name
    assert data.intents == ["GetWeather", "PlayMusic"]
    assert len(data.examples) == len(SNIPS_TRAIN)
    rain = next(e for e in data.examples if e.text.startswith("will it rain"))
    assert rain.entities == (Entity(13, 21, "timeRange", "tomorrow"), Entity(25, 33, "city", "new york"))
    csv_text = (tmp_path / "bot" / "data" / "intents" / "GetWeather.csv").read_text("utf-8")
    assert csv_text.startswith("question,label\nwhat is the weather in paris,O O O O O B-city\n")


def test_snips_reader_keeps_the_source_as_it_is(snips):
    data, problems = read_snips(snips, ["train", "valid"])
    assert problems == []
    assert len(data.examples) == len(SNIPS_TRAIN) + 2  # the repeat too: benchmarks score every line
    assert data.examples[0].source == f"{snips / 'train' / 'seq.in'}:1"


def test_several_splits_are_merged_and_repeats_written_once(snips, tmp_path):
    result = import_snips(snips, tmp_path / "bot", splits=["train", "valid"])
    _, data = load_bot(tmp_path / "bot")
    assert len(data.examples) == len(SNIPS_TRAIN) + 1
    (note,) = result.notes
    assert "1 repeated utterance" in str(note) and note.severity == "warning"


def test_a_folder_with_the_files_is_one_split(snips, tmp_path):
    data, problems = read_snips(snips / "train")
    assert problems == [] and len(data.examples) == len(SNIPS_TRAIN)


@pytest.mark.parametrize(("split", "hint"), [("vaild", "did you mean `--split valid`?"), ("dev", "`--split valid`")])
def test_unknown_split_names_the_ones_there(snips, split, hint):
    _, problems = read_snips(snips, [split])
    (problem,) = problems
    assert f"no split `{split}`" in str(problem) and "`train`, `valid`" in str(problem)
    assert hint in str(problem)


def test_files_of_different_lengths_are_an_error_naming_where_they_part(tmp_path):
    folder = write_split(tmp_path / "train", SNIPS_TRAIN)
    lines = (folder / "seq.out").read_text("utf-8").splitlines(keepends=True)
    (folder / "seq.out").write_text("".join(lines[:3] + lines[4:]), "utf-8")  # line 4 lost
    with pytest.raises(DataError) as error:
        import_snips(folder, tmp_path / "bot")
    text = messages(error)
    assert "seq.in 10, seq.out 9, label 10" in text
    assert "first disagree on line 4" in text
    assert not (tmp_path / "bot").exists()


def test_words_and_tags_of_different_counts_name_the_file_and_line(tmp_path):
    rows = SNIPS_TRAIN[:2] + [("play jazz now", "O B-genre", "PlayMusic")] + SNIPS_TRAIN[3:]
    _, problems = read_snips(write_split(tmp_path / "train", rows))
    (problem,) = problems
    assert str(problem).startswith(f"{tmp_path / 'train' / 'seq.out'}:3: error: found 2 tag(s) `O B-genre`")
    assert "the 3 word(s) `play jazz now`" in str(problem)
    assert "write `O` for each word outside an entity" in str(problem)


def test_a_malformed_tag_gets_a_guess(tmp_path):
    rows = [("play jazz", "O b-genre", "PlayMusic")] + SNIPS_TRAIN[1:]
    _, problems = read_snips(write_split(tmp_path / "train", rows))
    (problem,) = problems
    assert problem.line == 1 and "the tag `b-genre` on the word `jazz`" in str(problem)
    assert "did you mean `B-genre`?" in str(problem)


def test_empty_line_and_empty_label_are_errors(tmp_path):
    rows = [("", "", "PlayMusic"), ("play jazz", "O B-genre", "")] + SNIPS_TRAIN[2:]
    _, problems = read_snips(write_split(tmp_path / "train", rows))
    assert [(Path(p.file).name, p.line) for p in problems] == [("seq.in", 1), ("label", 2)]


def test_an_inside_tag_after_o_is_read_as_conlleval_does_with_a_warning(tmp_path):
    rows = [("play the rolling stones", "O O I-artist I-artist", "PlayMusic")] + SNIPS_TRAIN[1:]
    data, problems = read_snips(write_split(tmp_path / "train", rows))
    (problem,) = problems
    assert problem.severity == "warning" and problem.line == 1
    assert "1 line(s) with an invalid tag sequence" in str(problem)
    assert data.examples[0].entities == (Entity(9, 23, "artist", "rolling stones"),)


def test_atis_types_with_dots_keep_their_names(tmp_path):
    rows = [(f"flights from boston to {city}", "O O B-fromloc.city_name O B-toloc.city_name", "atis_flight")
            for city in ("denver", "dallas", "miami", "tampa", "austin")]
    rows += [(f"fares to {city}", "O O B-toloc.city_name", "atis_airfare")
             for city in ("reno", "erie", "waco", "ely", "rome")]
    result = import_snips(write_split(tmp_path / "train", rows), tmp_path / "bot")
    assert result.notes == []
    config, data = load_bot(tmp_path / "bot")
    assert list(config.entities) == data.entity_types == ["fromloc.city_name", "toloc.city_name"]


def test_types_malmoi_cannot_name_are_renamed_with_a_warning(tmp_path):
    rows = [(f"flights to {city}", "O O B-to/city", "atis_flight")
            for city in ("denver", "dallas", "miami", "tampa", "austin")]
    rows += [(f"fares to {city}", "O O B-to/city", "atis_airfare") for city in ("reno", "erie", "waco", "ely", "rome")]
    result = import_snips(write_split(tmp_path / "train", rows), tmp_path / "bot")
    (note,) = result.notes
    assert "`to/city`" in str(note) and "imported as `to_city`" in str(note)
    assert list(load_bot(tmp_path / "bot")[0].entities) == ["to_city"]


def test_an_utterance_under_two_intents_is_left_out_and_reported(tmp_path):
    rows = SNIPS_TRAIN + [("play some abba", "O O B-artist", "PlayMusic"), ("play jazz", "O B-genre", "GetWeather")]
    result = import_snips(write_split(tmp_path / "train", rows), tmp_path / "bot")
    assert [note.line for note in result.notes] == [3, 12]  # one note per left-out row
    assert "`play jazz` under intent `PlayMusic`, and under `GetWeather` at" in str(result.notes[0])
    assert "`play jazz` under intent `GetWeather`, and under `PlayMusic` at" in str(result.notes[1])
    assert all("left out every copy" in note.hint for note in result.notes)
    _, data = load_bot(tmp_path / "bot")
    assert "play jazz" not in {e.text for e in data.examples}
    notes_file = (tmp_path / "bot" / "IMPORT_NOTES.txt").read_text("utf-8")
    assert all(str(note) in notes_file for note in result.notes)


def test_a_repeat_with_other_entities_keeps_the_first(tmp_path):
    rows = SNIPS_TRAIN + [("play jazz", "O B-playlist", "PlayMusic")]
    result = import_snips(write_split(tmp_path / "train", rows), tmp_path / "bot")
    (note,) = result.notes
    assert note.line == 11 and "with other entities than at" in str(note)
    _, data = load_bot(tmp_path / "bot")
    assert next(e for e in data.examples if e.text == "play jazz").entities[0].type == "genre"


def test_small_intents_are_left_out_unless_the_minimum_is_lowered(tmp_path):
    rows = SNIPS_TRAIN + [("rate this book 5 stars", "O O O B-rating_value B-rating_unit", "RateBook")]
    folder = write_split(tmp_path / "train", rows)
    result = import_snips(folder, tmp_path / "bot")
    (note,) = result.notes
    assert "1 example(s) of the intent `RateBook`" in str(note) and "--min-examples" in str(note)
    assert load_bot(tmp_path / "bot")[1].intents == ["GetWeather", "PlayMusic"]
    import_snips(folder, tmp_path / "bot1", min_examples=1)
    config, data = load_bot(tmp_path / "bot1")
    assert config.min_examples_per_intent == 1 and "RateBook" in data.intents


def test_one_intent_is_imported_and_none_is_an_error(tmp_path):
    import_snips(write_split(tmp_path / "train", SNIPS_TRAIN[:5]), tmp_path / "bot")
    assert load_bot(tmp_path / "bot")[1].intents == ["PlayMusic"]
    assert not (tmp_path / "bot" / "IMPORT_NOTES.txt").exists()  # nothing changed, nothing to note
    with pytest.raises(DataError) as error:
        import_snips(write_split(tmp_path / "train", SNIPS_TRAIN[:4]), tmp_path / "bot2")
    assert "no intent to write" in messages(error)


@pytest.mark.parametrize("intent", ["fallback", "Fallback"])
def test_an_intent_named_fallback_is_an_error(tmp_path, intent):
    rows = [(text, tags, intent) for text, tags, _ in SNIPS_TRAIN[:5]] + SNIPS_TRAIN[5:]
    _, problems = read_snips(write_split(tmp_path / "train", rows))
    assert len(problems) == 5 and f"the intent `{intent}`" in str(problems[0])
    assert "reserves `fallback`" in problems[0].expected


def test_an_invisible_utterance_is_an_error(tmp_path):
    rows = SNIPS_TRAIN + [("\u200b", "O", "PlayMusic")]
    _, problems = read_snips(write_split(tmp_path / "train", rows))
    (problem,) = problems
    assert problem.file.endswith("seq.in") and problem.line == 11 and "invisible" in problem.found


def test_a_non_empty_out_needs_force(snips, tmp_path):
    out = tmp_path / "bot"
    import_snips(snips, out)
    (out / "notes.txt").write_text("mine", "utf-8")
    with pytest.raises(DataError) as error:
        import_snips(snips, out)
    assert "not empty" in messages(error) and "--force" in messages(error)
    import_snips(snips, out, force=True)  # an earlier import, unedited: replaced
    assert (out / "notes.txt").read_text("utf-8") == "mine"  # only bot.yaml and data/ are replaced


def test_force_never_replaces_data_that_the_import_did_not_write(snips, tmp_path):
    out = tmp_path / "bot"
    import_snips(snips, out)
    mine = out / "data" / "intents" / "Mine.csv"
    mine.write_text("question\nx\n", "utf-8")
    with pytest.raises(OutputError, match=r"Mine\.csv"):
        import_snips(snips, out, force=True)
    assert mine.read_text("utf-8") == "question\nx\n"
    mine.unlink()
    edited = next((out / "data" / "intents").glob("*.csv"))
    edited.write_text(edited.read_text("utf-8") + "one more row\n", "utf-8")
    with pytest.raises(OutputError, match="edited"):
        import_snips(snips, out, force=True)
    assert edited.read_text("utf-8").endswith("one more row\n")


def test_force_never_replaces_a_folder_that_no_import_wrote(snips, tmp_path):
    out = tmp_path / "bot"
    (out / "data" / "intents").mkdir(parents=True)
    (out / "data" / "intents" / "weather.csv").write_text("question\n날씨\n", "utf-8")
    with pytest.raises(OutputError, match="did not write"):
        import_snips(snips, out, force=True)
    assert (out / "data" / "intents" / "weather.csv").read_text("utf-8") == "question\n날씨\n"


def test_a_file_that_is_not_utf8_is_an_error(tmp_path):
    folder = write_split(tmp_path / "train", SNIPS_TRAIN)
    (folder / "label").write_bytes(b"PlayMusic\n" + "날씨\n".encode("cp949"))
    _, problems = read_snips(folder)
    (problem,) = problems
    assert problem.file.endswith("label") and problem.line == 2 and "not UTF-8" in str(problem)


def test_an_intent_that_cannot_be_a_file_name_is_an_error(tmp_path):
    rows = [(text, tags, "../escape") for text, tags, _ in SNIPS_TRAIN[:5]] + SNIPS_TRAIN[5:]
    _, problems = read_snips(write_split(tmp_path / "train", rows))
    assert len(problems) == 5 and "an intent name that can be a file name" in str(problems[0])


# -- CLINC150 -------------------------------------------------------------------------------


def write_clinc(path: Path, **lists) -> Path:
    path.write_text(json.dumps(lists, indent=1), "utf-8")
    return path


@pytest.fixture
def clinc(tmp_path: Path) -> Path:
    train = [[f"what is my balance in account {i}", "balance"] for i in range(5)]
    train += [[f"transfer {i} dollars to mom", "transfer"] for i in range(5)]
    train += [["tell me a joke", "oos"]]  # oos inside a split goes to ood as well
    return write_clinc(tmp_path / "data_full.json", train=train,
                       oos_train=[["how do i cook rice", "oos"], ["book a flight", "oos"]],
                       val=[["balance of account 9", "balance"]], oos_val=[])


def test_clinc_import_puts_oos_in_ood(clinc, tmp_path):
    result = import_clinc150(clinc, tmp_path / "bot")
    assert result.notes == []
    config, data = load_bot(tmp_path / "bot")
    assert config.name == "clinc150-train" and config.entities is None
    assert data.intents == ["balance", "transfer"] and len(data.examples) == 10
    assert sorted(e.text for e in data.ood) == ["book a flight", "how do i cook rice", "tell me a joke"]
    assert (tmp_path / "bot" / "data" / "intents" / "balance.csv").read_text("utf-8").startswith("question\n")


def test_clinc_unknown_split_suggests_its_name(clinc):
    _, problems = read_clinc150(clinc, ["valid"])
    (problem,) = problems
    assert "did you mean `--split val`?" in str(problem)


def test_clinc_invalid_json_names_the_line(tmp_path):
    path = tmp_path / "data.json"
    path.write_text('{"train": [\n  ["hi", "greet"],\n  ["oops" "greet"]\n]}', "utf-8")
    _, problems = read_clinc150(path)
    (problem,) = problems
    assert problem.line == 3 and "invalid JSON" in str(problem)


def test_clinc_bad_items_are_reported_by_position(tmp_path):
    path = write_clinc(tmp_path / "data.json", train=[["hi", "greet"], ["no intent"], ["", "greet"]])
    _, problems = read_clinc150(path)
    assert [p.found for p in problems] == ['["no intent"] at train[1]', "an empty text at train[2]"]


def test_clinc_ood_that_an_intent_has_is_left_out_of_ood(clinc, tmp_path):
    document = json.loads(clinc.read_text("utf-8"))
    document["oos_train"].append(["transfer 1 dollars to mom", "oos"])
    result = import_clinc150(write_clinc(clinc, **document), tmp_path / "bot")
    (note,) = result.notes
    assert "the out-of-domain utterance `transfer 1 dollars to mom`" in str(note)
    assert len(load_bot(tmp_path / "bot")[1].ood) == 3


def test_clinc_missing_file_suggests_data_full(clinc):
    _, problems = read_clinc150(clinc.parent)
    assert "did you mean" in str(problems[0]) and "data_full.json" in str(problems[0])


# -- command line ---------------------------------------------------------------------------


def test_cli_import_prints_a_summary(snips, tmp_path, capsys):
    out = tmp_path / "bot"
    assert main(["import", "snips", str(snips), "--split", "train,valid", "--out", str(out), "--name", "mine"]) == 0
    captured = capsys.readouterr()
    assert f"Imported 11 utterances into {out}: 2 intents" in captured.out
    assert "1 repeated utterance" in captured.err
    assert yaml.safe_load((out / "bot.yaml").read_text("utf-8"))["name"] == "mine"


def test_cli_import_errors_name_file_and_line_without_traceback(tmp_path, capsys):
    rows = SNIPS_TRAIN[:2] + [("play jazz now", "O B-genre", "PlayMusic")] + SNIPS_TRAIN[3:]
    folder = write_split(tmp_path / "snips" / "train", rows)
    assert main(["import", "atis", str(folder.parent), "--out", str(tmp_path / "bot")]) == 1
    err = capsys.readouterr().err
    assert f"{folder / 'seq.out'}:3: error" in err and "Traceback" not in err


def test_cli_import_clinc(clinc, tmp_path, capsys):
    command = ["import", "clinc150", str(clinc), "--split", "train", "--split", "val", "--out", str(tmp_path / "b")]
    assert main(command) == 0
    assert "Imported 11 utterances" in capsys.readouterr().out


# -- Kochat ---------------------------------------------------------------------------------

KOCHAT_WEATHER = ["question,label", "내일 서울 날씨 알려줘,S-DATE S-LOCATION O O", "부산 비 와,S-LOCATION O O",
                  "다음 주 대구 날씨,B-DATE E-DATE S-LOCATION O", "인천 날씨 어때,S-LOCATION O O",
                  "오늘 광주 맑아,S-DATE S-LOCATION O", "이번 주 맑겠지,B-DATE E-DATE O",
                  "강원도 춘천 날씨,I-LOCATION E-LOCATION O"]
KOCHAT_DUST = ["question,label", "내일 서울 미세먼지 알려줘,S-DATE S-LOCATION O O", "부산 먼지 어때,S-LOCATION O O",
               "다음 주 대구 황사,B-DATE E-DATE S-LOCATION O", "인천 공기 어때,S-LOCATION O O",
               "오늘 광주 마스크 써야 해,S-DATE S-LOCATION O O O", "이번 주 맑겠지,B-DATE E-DATE O", "",
               "이번 주 맑겠지,B-DATE E-DATE O"]


@pytest.fixture
def kochat(tmp_path: Path) -> Path:
    root = tmp_path / "kochat" / "data"
    (root / "raw").mkdir(parents=True)
    (root / "ood").mkdir()
    (root / "raw" / "weather.csv").write_text("\n".join(KOCHAT_WEATHER) + "\n", "utf-8")
    (root / "raw" / "dust.csv").write_text("\n".join(KOCHAT_DUST) + "\n", "utf-8")
    (root / "ood" / "ood_data.csv").write_text("question,label\n노래 틀어줘,OOD\n알람 맞춰줘,OOD\n", "utf-8")
    return root


def test_kochat_import_leaves_out_invalid_rows_and_every_copy_of_a_conflict(kochat, tmp_path):
    result = import_kochat(kochat, tmp_path / "bot")
    raw = kochat / "raw"
    assert [(Path(p.file).name, p.line) for p in result.data.left_out] == [
        ("dust.csv", 7), ("dust.csv", 9), ("weather.csv", 7), ("weather.csv", 8)]
    assert "`이번 주 맑겠지` under intent `dust`, and under `weather` at " + f"{raw / 'weather.csv'}:7" in str(
        result.data.left_out[0])
    assert "`I-LOCATION` at word 1" in str(result.data.left_out[3])
    config, data = load_bot(tmp_path / "bot")
    assert (config.name, config.language) == ("kochat-data", "ko")
    assert data.intents == ["dust", "weather"] and len(data.examples) == 10 and len(data.ood) == 2
    assert data.entity_types == ["DATE", "LOCATION"]
    notes = (tmp_path / "bot" / "IMPORT_NOTES.txt").read_text("utf-8")
    assert "4 source row(s) left out" in notes
    assert all(str(p) in notes for p in result.data.left_out)


def test_kochat_import_takes_the_raw_folder_too(kochat, tmp_path):
    assert len(import_kochat(kochat / "raw", tmp_path / "bot").data.ood) == 2


def test_kochat_import_of_a_folder_without_raw_is_an_error(tmp_path):
    with pytest.raises(DataError) as error:
        import_kochat(tmp_path, tmp_path / "bot")
    assert "a folder without raw/" in messages(error) and "Kochat's `data/`" in messages(error)


def test_kochat_import_stops_at_a_file_it_cannot_read(kochat, tmp_path):
    (kochat / "raw" / "dust.csv").write_bytes("\n".join(KOCHAT_DUST).encode("cp949"))
    with pytest.raises(DataError) as error:
        import_kochat(kochat, tmp_path / "bot")
    assert "dust.csv:2: error: found a byte that is not UTF-8" in messages(error)
    assert not (tmp_path / "bot").exists()


def test_cli_import_kochat_lists_what_it_left_out(kochat, tmp_path, capsys):
    out = tmp_path / "bot"
    assert main(["import", "kochat", str(kochat), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "Left out 4 source row(s) with errors" in captured.err
    assert f"{kochat / 'raw' / 'weather.csv'}:8: error: found `I-LOCATION`" in captured.err
    assert f"Imported 10 utterances into {out}: 2 intents" in captured.out
    assert str(out / "IMPORT_NOTES.txt") in captured.out


@pytest.mark.skipif(not (SHARED / "kochat-demo" / "raw").is_dir(), reason="needs ../shared/data/kochat-demo")
def test_kochat_demo_data_imports_without_its_4_invalid_rows_and_26_conflicting_utterances(tmp_path):
    # Kochat's published demo: both copies of an utterance filed under weather and dust are left
    # out, since neither label can be trusted.
    result = import_kochat(SHARED / "kochat-demo", tmp_path / "bot")
    left_out = result.data.left_out
    tag_rows = {(Path(p.file).name, p.line) for p in left_out if "under intent" not in p.found}
    assert tag_rows == {("dust.csv", 2676), ("dust.csv", 2882), ("weather.csv", 2039), ("weather.csv", 2245)}
    conflicts = [p for p in left_out if "under intent" in p.found]
    texts = {p.found.split("`")[1] for p in conflicts}
    assert len(texts) == 26 and "이번 주 강릉 맑아" in texts
    assert len({(p.file, p.line) for p in conflicts}) == 82  # every copy, in both files
    assert {Path(p.file).name for p in conflicts} == {"dust.csv", "weather.csv"}
    config, data = load_bot(tmp_path / "bot")  # loads: nothing left to refuse
    assert config.name == "kochat-demo"
    assert data.intents == ["dust", "restaurant", "travel", "weather"]
    assert not texts & {e.text for e in data.examples}
    assert len(data.ood) > 12_000 * 0.9


# -- the shared benchmark data, when this checkout sits beside it ---------------------------


@pytest.mark.skipif(not (SHARED / "snips" / "test").is_dir(), reason="needs ../shared/data/snips")
def test_snips_test_split_imports_whole(tmp_path):
    data, problems = read_snips(SHARED / "snips", ["test"])
    assert problems == [] and len(data.examples) == 700
    import_snips(SHARED / "snips", tmp_path / "bot", splits=["test"])
    _, loaded = load_bot(tmp_path / "bot")
    assert len(loaded.intents) == 7 and len(loaded.examples) == 699  # one repeat written once
