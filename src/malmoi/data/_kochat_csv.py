"""Kochat's CSV format: ``question,label`` with one BIO/BIOES/BILOU tag per word of the question.

::

    question,label
    내일 서울 날씨 알려줘,S-DATE S-LOCATION O O
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from malmoi.data import tags as tagging
from malmoi.data._reading import (
    MAX_LINE_CHARS,
    TypeUse,
    did_you_mean,
    normalize_text,
    read_utf8,
    utterance_problem,
)
from malmoi.data.problems import Problem
from malmoi.data.schema import Entity, Example

_INTENT_COLUMNS = ("question", "label")


@dataclass
class _Table:
    """A CSV file's header and its non-blank rows, each with the line it starts on."""

    header: list[str]
    header_line: int
    rows: list[tuple[int, list[str]]]


def _read_table(
    path: Path, problems: list[Problem], empty_severity: str = "error"
) -> _Table | None:
    text = read_utf8(path, problems)
    if text is None:
        return None
    # newline="" keeps quoted line breaks inside a field, as the csv module requires.
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    header_line = 1
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for row in reader:
            # Blank rows (Kochat's restaurant.csv has one) are no data; skip them silently.
            if any(cell.strip() for cell in row):
                if header is None:
                    header, header_line = [c.strip().lower() for c in row], line
                    while not header[-1]:  # spreadsheets add trailing commas; they mean nothing
                        header.pop()
                elif len(row) > len(header) and not any(c.strip() for c in row[len(header) :]):
                    rows.append((line, row[: len(header)]))
                else:
                    rows.append((line, row))
            line = reader.line_num + 1
    except csv.Error as error:
        hint = ('check the quotes: a field with a comma or a `"` is written in double quotes, '
                'with each `"` inside it doubled')
        if "field larger than field limit" in str(error):
            # The line where the record starts: an unclosed quote there swallowed the rest.
            problems.append(
                Problem(str(path), line, f"a field of more than {MAX_LINE_CHARS:,} characters",
                        f"fields of at most {MAX_LINE_CHARS:,} characters",
                        'a `"` that opens a field and is never closed makes the rest of the file '
                        "one field; " + hint)
            )
        else:
            problems.append(Problem(str(path), reader.line_num or line,
                                    f"a CSV syntax error ({error})", "valid CSV", hint))
        return None
    if header is None or not rows:
        problems.append(
            Problem(
                str(path),
                1,
                "an empty file" if header is None else "a header but no data rows",
                "a header line and at least one row",
                "add examples, or delete the file",
                empty_severity,
            )
        )
        return None
    return _Table(header, header_line, rows)


def _question_column(
    path: Path, table: _Table, problems: list[Problem], columns: str
) -> int | None:
    if "question" in table.header:
        return table.header.index("question")
    close = did_you_mean("question", table.header, cutoff=0.7)
    if close is not None:
        hint = f"did you mean `question` instead of `{close}`?"
    else:
        hint = f"the first line names the columns; add the line `{columns}` above your data"
    problems.append(
        Problem(
            str(path),
            table.header_line,
            f"the header `{','.join(table.header)}`",
            f"a header with a `question` column, like `{columns}`",
            hint,
        )
    )
    return None


def _field_count_problem(path: Path, line: int, row: list[str], header: list[str]) -> Problem:
    hint = "every row has one field per header column"
    if len(row) > len(header):
        hint = 'a question that contains a comma must be in double quotes: "서울, 부산 날씨",O O O'
    return Problem(
        str(path),
        line,
        f"{len(row)} field(s): {row}",
        f"{len(header)} field(s), one per header column `{','.join(header)}`",
        hint,
        skippable=True,
    )


def _question_problem(path: Path, line: int, text: str) -> Problem | None:
    """The problem of a normalized question that is empty or no text to learn from."""
    if not text:
        return Problem(str(path), line, "an empty question", "the utterance text",
                       "write the utterance, or delete the row", skippable=True)
    junk = utterance_problem(text)
    if junk is not None:
        return Problem(str(path), line, junk[0], "the utterance text", junk[1], skippable=True)
    return None


def _question_rows(
    path: Path, table: _Table, question: int, problems: list[Problem]
) -> Iterator[tuple[int, list[str], str]]:
    """``(line, row, normalized question)`` of each row that has one field per column and a
    question to learn from; every other row becomes a problem."""
    for line, row in table.rows:
        if len(row) != len(table.header):
            problems.append(_field_count_problem(path, line, row, table.header))
            continue
        text = normalize_text(row[question])
        if (problem := _question_problem(path, line, text)) is not None:
            problems.append(problem)
            continue
        yield line, row, text


def read_intent_csv(
    path: Path, intent: str, problems: list[Problem], uses: list[TypeUse]
) -> tuple[list[Example], int]:
    """The examples of a Kochat intent CSV and its number of data rows (valid or not)."""
    table = _read_table(path, problems)
    if table is None:
        return [], 0
    question = _question_column(path, table, problems, "question,label")
    if question is None:
        return [], len(table.rows)
    for name in table.header:
        if name not in _INTENT_COLUMNS:
            close = did_you_mean(name, _INTENT_COLUMNS) if name else None
            problems.append(
                Problem(
                    str(path),
                    table.header_line,
                    f"the column `{name}`" if name else "an empty column name",
                    "only the columns `question` and `label`",
                    f"did you mean `{close}`?" if close else "remove the column",
                )
            )
    label = table.header.index("label") if "label" in table.header else None

    parsed: list[tuple[int, str, list[str]]] = [  # (line, text, tags)
        (line, text, normalize_text(row[label]).split() if label is not None else [])
        for line, row, text in _question_rows(path, table, question, problems)
    ]

    scheme = tagging.detect_scheme(tag for _, _, tags in parsed for tag in tags)
    known_types = {
        split[1] for _, _, tags in parsed for tag in set(tags)
        if (split := tagging.split_tag(tag)) is not None and split[1]
    }
    examples: list[Example] = []
    for line, text, tags in parsed:
        if label is None:
            examples.append(Example(text, intent, (), f"{path}:{line}"))
            continue
        example = _tagged_example(
            path, line, intent, text, tags, scheme, known_types, problems, uses
        )
        if example is not None:
            examples.append(example)
    return examples, len(table.rows)


def _tagged_example(
    path: Path,
    line: int,
    intent: str,
    text: str,
    tags: list[str],
    scheme: tagging.Scheme,
    known_types: set[str],
    problems: list[Problem],
    uses: list[TypeUse],
) -> Example | None:
    words = text.split(" ")
    ok = True
    if len(words) != len(tags):
        ok = False
        problems.append(
            Problem(
                str(path),
                line,
                f"{len(words)} word(s) `{text}` but {len(tags)} tag(s) `{' '.join(tags)}`",
                "one tag per space-separated word of the question",
                "write `O` for each word outside an entity"
                if len(tags) < len(words)
                else "remove the extra tags, or split the question into as many words",
                skippable=True,
            )
        )
    for tag in dict.fromkeys(tags):
        if tagging.split_tag(tag) is not None:
            continue
        ok = False
        prefixes = ", ".join(f"{p}-" for p in sorted(tagging.PREFIXES[scheme]))
        index = tags.index(tag)
        on_word = f" on the word `{words[index]}`" if len(words) == len(tags) else ""
        problems.append(
            Problem(
                str(path),
                line,
                f"the tag `{tag}`{on_word}",
                f"`O` or PREFIX-TYPE, with PREFIX one of {prefixes} (this file is {scheme})",
                tagging.malformed_tag_hint(tag, scheme, known_types),
                skippable=True,
            )
        )
    if not ok:
        return None
    issues = tagging.check_tags(tags, scheme)
    tagged = " ".join(f"{word}/{tag}" for word, tag in zip(words, tags)) if issues else ""
    for issue in issues:
        problems.append(
            Problem(str(path), line, f"{issue.found} in `{tagged}`", issue.expected, issue.hint,
                    skippable=True)
        )
    if issues:
        return None
    starts = []
    position = 0
    for word in words:
        starts.append(position)
        position += len(word) + 1
    entities = []
    for first, last, type_ in tagging.tags_to_word_spans(tags):
        start, end = starts[first], starts[last] + len(words[last])
        entities.append(Entity(start, end, type_, text[start:end]))
        uses.append(TypeUse(str(path), line, type_, tags[first]))
    return Example(text, intent, tuple(entities), f"{path}:{line}")


def read_ood_csv(path: Path, problems: list[Problem]) -> list[Example]:
    """Out-of-domain utterances from a CSV's ``question`` column; other columns are ignored."""
    # Without OOD data training still works (the fallback threshold comes from in-domain data).
    table = _read_table(path, problems, empty_severity="warning")
    if table is None:
        return []
    question = _question_column(path, table, problems, "question")
    if question is None:
        return []
    return [Example(text, None, (), f"{path}:{line}")
            for line, _, text in _question_rows(path, table, question, problems)]
