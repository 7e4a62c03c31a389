"""Dictionary entities: data/entities/<TYPE>.csv|.yml, synonyms, longest match, one typo, speed, bad rows."""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

import pytest

from malmoi.data.problems import Problem
from malmoi.entity.values.dictionary import (
    Dictionary,
    DictionaryMatcher,
    load_dictionaries,
    load_dictionary,
    match_key,
)
from malmoi.text import Analyzer


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, "utf-8")
    return path


@pytest.fixture
def matcher(tmp_path: Path) -> DictionaryMatcher:
    folder = tmp_path / "entities"
    write(folder, "CITY.csv", "# value, then synonyms\n서울,서울시,서울특별시,Seoul\n부산,부산광역시\n")
    write(folder, "STATION.yml", "서울역: [서울 역]\n강남역: 강남 역\n")
    problems: list[Problem] = []
    matcher = DictionaryMatcher(load_dictionaries(folder, problems), typos=True, problems=problems)
    assert problems == []
    return matcher


def found(matcher: DictionaryMatcher, text: str) -> list[tuple[str, str, object]]:
    return [(v.kind, v.text, v.resolved) for v in matcher.find(text)]


def test_synonyms_resolve_to_the_canonical_value(matcher: DictionaryMatcher) -> None:
    assert found(matcher, "서울특별시에서 만나") == [("CITY", "서울특별시", "서울")]
    assert found(matcher, "SEOUL weather") == [("CITY", "SEOUL", "서울")]  # case folded
    assert found(matcher, "서울 특별시 날씨") == [("CITY", "서울 특별시", "서울")]  # spaces ignored
    assert matcher.resolve("CITY", "부산광역시") == "부산"
    assert matcher.resolve("STATION", "부산광역시") is None


def test_longest_match_first(matcher: DictionaryMatcher) -> None:
    assert found(matcher, "서울역에서 부산 가는 기차") == [("STATION", "서울역", "서울역"), ("CITY", "부산", "부산")]


def test_matches_start_and_end_on_morpheme_boundaries(matcher: DictionaryMatcher) -> None:
    assert found(matcher, "서울시청 앞에서") == []  # city hall, not the city


def test_one_typo_in_a_long_value(matcher: DictionaryMatcher, tmp_path: Path) -> None:
    assert found(matcher, "서울특뼐시 날씨") == [("CITY", "서울특뼐시", "서울")]  # changed
    assert found(matcher, "부산광역 가자") == [("CITY", "부산광역", "부산")]  # left out
    assert found(matcher, "부산광역시 가자") == [("CITY", "부산광역시", "부산")]  # exact beats a typo
    strict = DictionaryMatcher(load_dictionaries(tmp_path / "entities", []), typos=False)
    assert found(strict, "서울특뼐시 날씨") == []
    assert found(matcher, "서을 날씨") == []  # two-letter values take no typo


def test_yaml_forms(tmp_path: Path) -> None:
    path = write(tmp_path, "FOOD.yml", "김밥: [김빱, 김 밥]\n라면: 라멘\n떡볶이:\n")
    problems: list[Problem] = []
    dictionary = load_dictionary(path, problems)
    assert problems == [] and dictionary is not None
    resolved = [dictionary.resolve(t) for t in ["김빱", "김 밥", "라멘", "떡볶이", "우동"]]
    assert resolved == ["김밥", "김밥", "라면", "떡볶이", None]


def test_ten_thousand_values_load_in_a_second_and_match_in_a_fifth_of_a_millisecond(tmp_path: Path) -> None:
    rng = random.Random(0)
    syllables = [chr(0xAC00 + rng.randrange(11172)) for _ in range(400)]
    names = list(dict.fromkeys("".join(rng.choice(syllables) for _ in range(rng.randint(3, 6))) for _ in range(10500)))
    names = names[:10_000]
    rows = [f"{name},{name}점,{name} 본점" for name in names]
    path = write(tmp_path, "SHOP.csv", "\n".join(rows) + "\n")
    load_seconds = []
    for _ in range(3):  # the best of three: the code's time, not that of other jobs on the machine
        match_key.cache_clear()
        began = time.perf_counter()
        dictionary = load_dictionary(path, [])
        assert dictionary is not None
        matcher = DictionaryMatcher([dictionary], typos=True)
        load_seconds.append(time.perf_counter() - began)
    assert len(matcher) >= 29_000 and min(load_seconds) <= 1.0, load_seconds
    analyzer = Analyzer("ko")
    texts = [f"내일 {rng.choice(names)}점에서 친구랑 만나기로 했어" for _ in range(100)]
    texts += ["서울 강남구 날씨 어때", "이번 주말에 부산 가는 기차표 예매해줘"] * 50
    docs = [analyzer(t) for t in texts]
    for doc in docs[:20]:
        matcher.find(doc.normalized, doc.tokens)
    seconds = []
    for doc in docs:
        began = time.perf_counter()
        matcher.find(doc.normalized, doc.tokens)
        seconds.append(time.perf_counter() - began)
    assert statistics.median(seconds) <= 0.0002, statistics.median(seconds)
    assert all(matcher.find(doc.normalized, doc.tokens) for doc in docs[:100])


# -- bad input: file:line, what was found, the fix --------------------------------------------


def problems_of(tmp_path: Path, name: str, text: str | bytes) -> list[Problem]:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    problems: list[Problem] = []
    assert load_dictionary(path, problems) is None or all(p.severity != "error" for p in problems)
    return problems


def test_a_row_without_a_value(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path, "CITY.csv", "서울,서울시\n,대구시,대구광역시\n")
    assert problem.line == 2 and "`,대구시,대구광역시`" in problem.found
    assert "`대구시,대구광역시`" in problem.hint and str(problem).startswith(f"{tmp_path / 'CITY.csv'}:2: error")


def test_an_unclosed_quote(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path, "CITY.csv", '서울,서울시\n"인천, 광역시,인천\n')
    assert problem.line == 2 and "CSV syntax error" in problem.found and "quote" in problem.hint


def test_a_synonym_under_two_values(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path, "CITY.csv", "서울,수도\n부산,수도\n")
    assert problem.line == 2 and "line 1" in problem.found and "`수도`" in problem.found


def test_yaml_problems(tmp_path: Path) -> None:
    [syntax] = problems_of(tmp_path, "A.yml", "서울: [서울시\n부산: 부산시\n")
    assert syntax.line is not None and "YAML syntax error" in syntax.found
    [nested] = problems_of(tmp_path, "B.yml", "서울:\n  구: 강남\n")
    assert nested.line == 2 and "nested" in nested.found and "[synonym, synonym]" in nested.hint
    [shape] = problems_of(tmp_path, "C.yml", "- 서울\n- 부산\n")
    assert shape.line == 1 and "mapping" in shape.expected


def test_empty_badly_named_and_not_utf8_files(tmp_path: Path) -> None:
    [empty] = problems_of(tmp_path, "CITY.csv", "# nothing yet\n\n")
    assert "no values" in empty.found
    [name] = problems_of(tmp_path, "my city.csv", "서울\n")
    assert "my city" in name.found and "rename" in name.hint
    [encoding] = problems_of(tmp_path, "EUC.csv", "서울,서울시\n".encode("cp949"))
    assert encoding.line == 1 and "UTF-8" in encoding.expected


def test_two_files_for_one_type_and_a_value_in_two_types(tmp_path: Path) -> None:
    folder = tmp_path / "entities"
    write(folder, "CITY.csv", "서울\n")
    write(folder, "CITY.yml", "부산:\n")
    write(folder, "PLACE.csv", "서울,서울시\n")
    problems: list[Problem] = []
    dictionaries = load_dictionaries(folder, problems)
    assert [p.file.endswith("CITY.yml") and "second file" in p.found for p in problems] == [True]
    DictionaryMatcher(dictionaries, problems=problems)
    assert problems[1].severity == "warning" and "`서울`, also a value of `CITY`" in problems[1].found


def test_dictionary_add_reports_a_conflict() -> None:
    problems: list[Problem] = []
    dictionary = Dictionary("CITY", "CITY.csv")
    dictionary.add("서울", ["수도"], 1, problems)
    dictionary.add("세종", ["수도"], 2, problems)
    assert len(problems) == 1 and dictionary.resolve("수도") == "서울"
