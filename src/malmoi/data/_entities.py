"""Entity data files and declarations read with the bot: dictionaries (``data/entities/<TYPE>.csv``
or ``.yml``, see :mod:`malmoi.entity.values.dictionary` for the formats and matching) and the
regular expressions of pattern entities (see :mod:`malmoi.entity.values.patterns`), each problem
with its file and line. Here, in the data package, because the data loader reads them (training
reads no files); the entity package matches them.
"""

from __future__ import annotations

import csv
import functools
import io
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import regex
import yaml

from malmoi.data._inline_yaml import yaml_syntax_problem
from malmoi.data._reading import read_utf8
from malmoi.data.problems import Problem
from malmoi.labels import TYPE_RULE, is_entity_type

__all__ = ["SUFFIXES", "Dictionary", "PatternEntity", "compile_pattern", "compile_patterns", "load_dictionaries",
           "load_dictionary", "match_key"]

SUFFIXES = (".csv", ".yml", ".yaml")
_CSV_HINT = "one value per row: the value, then its synonyms, comma-separated (`서울,서울시,서울특별시`)"
_YAML_EXAMPLE = "서울: [서울시, 서울특별시]"


@functools.lru_cache(maxsize=65536)
def match_key(text: str) -> str:
    """The form a value is matched in: normalized as :func:`malmoi.text.normalize` does (NFC),
    case folded, without spaces. (The offsets that ``normalize`` keeps are not needed here, and
    building them would be most of a 10,000-value dictionary's load time.)"""
    return "".join(unicodedata.normalize("NFC", text).casefold().split())


@dataclass
class Dictionary:
    """One entity type's values: each synonym's match key → (canonical value, source line)."""

    entity: str
    source: str = ""
    synonyms: dict[str, tuple[str, int]] = field(default_factory=dict)

    def resolve(self, text: str) -> str | None:
        """The canonical value of ``text`` if it is a value or a synonym of this type."""
        found = self.synonyms.get(match_key(text))
        return found[0] if found else None

    def add(self, canonical: str, synonyms: Iterable[str], line: int, problems: list[Problem]) -> None:
        for synonym in (canonical, *synonyms):
            key = match_key(synonym)
            if not key:
                continue
            known = self.synonyms.get(key)
            if known is None:
                self.synonyms[key] = (canonical, line)
            elif known[0] != canonical:
                found = f"`{synonym}` under `{canonical}`, but line {known[1]} has it under `{known[0]}`"
                problems.append(Problem(
                    self.source, line, found, "each synonym under one value",
                    f"keep `{synonym}` in one row; a text can resolve to only one value"))


def load_dictionary(path: Path, problems: list[Problem]) -> Dictionary | None:
    """One ``data/entities/<TYPE>.csv|.yml`` file; None (and problems) if it cannot be used."""
    where = str(path)
    entity = path.stem
    if not is_entity_type(entity):
        problems.append(Problem(where, None, f"the entity type `{entity}` (the file's name)", TYPE_RULE,
                                "rename the file, e.g. `CITY.csv`"))
        return None
    text = read_utf8(path, problems)
    if text is None:
        return None
    dictionary = Dictionary(entity, where)
    before = len(problems)
    if path.suffix.lower() == ".csv":
        _read_csv(text, dictionary, problems)
    else:
        _read_yaml(text, dictionary, problems)
    if not dictionary.synonyms and len(problems) == before:
        problems.append(Problem(where, None, "a dictionary with no values",
                                _CSV_HINT if path.suffix.lower() == ".csv" else f"a mapping like `{_YAML_EXAMPLE}`",
                                "add values, or delete the file"))
    return dictionary if not any(p.severity == "error" for p in problems[before:]) else None


def load_dictionaries(folder: Path, problems: list[Problem]) -> list[Dictionary]:
    """Every dictionary in ``folder`` (a bot's ``data/entities``), in name order."""
    if not folder.is_dir():
        return []
    out = []
    seen: dict[str, Path] = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES):
        if path.stem in seen:
            problems.append(Problem(str(path), None, f"a second file for `{path.stem}` (also {seen[path.stem].name})",
                                    "one file per entity type", "merge the two files into one"))
            continue
        seen[path.stem] = path
        dictionary = load_dictionary(path, problems)
        if dictionary is not None:
            out.append(dictionary)
    return out


def _read_csv(text: str, dictionary: Dictionary, problems: list[Problem]) -> None:
    rows = csv.reader(io.StringIO(text, newline=""), strict=True)
    line = 1
    while True:
        line = rows.line_num + 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as error:
            problems.append(Problem(dictionary.source, line, f"a CSV syntax error ({error})", _CSV_HINT,
                                    'quote a value holding a comma or a quote: `"서울, 한국"`'))
            return
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if not cells[0]:
            shown = ",".join(row)
            problems.append(Problem(dictionary.source, line, f"a row without a value: `{shown}`",
                                    "the value in the first column, its synonyms after it",
                                    f"write the value first: `{','.join(c for c in cells if c)}`"))
            continue
        dictionary.add(cells[0], [c for c in cells[1:] if c], line, problems)


def _read_yaml(text: str, dictionary: Dictionary, problems: list[Problem]) -> None:
    where = dictionary.source
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        problems.append(yaml_syntax_problem(where, text, error))
        return
    except RecursionError:
        problems.append(Problem(where, None, "YAML nested too deeply", f"a mapping like `{_YAML_EXAMPLE}`"))
        return
    if root is None:
        return
    if not isinstance(root, yaml.MappingNode):
        problems.append(Problem(where, root.start_mark.line + 1, "something other than a mapping at the top level",
                                f"a mapping of each value to its synonyms, like `{_YAML_EXAMPLE}`"))
        return
    for key, value in root.value:
        line = key.start_mark.line + 1
        if not isinstance(key, yaml.ScalarNode) or not key.value.strip():
            problems.append(Problem(where, line, "a value that is not text", "a value like `서울`",
                                    f"write `{_YAML_EXAMPLE}`"))
            continue
        if isinstance(value, yaml.ScalarNode):
            synonyms = [value.value] if value.value.strip() and value.tag != "tag:yaml.org,2002:null" else []
        elif isinstance(value, yaml.SequenceNode) and all(isinstance(v, yaml.ScalarNode) for v in value.value):
            synonyms = [v.value for v in value.value if v.value.strip()]
        else:
            problems.append(Problem(where, value.start_mark.line + 1, f"a nested structure under `{key.value}`",
                                    "a list of synonyms", f"write `{key.value}: [synonym, synonym]`"))
            continue
        dictionary.add(key.value.strip(), [s.strip() for s in synonyms], line, problems)




# -- patterns ----------------------------------------------------------------------------------

_QUOTING = 'in YAML, quote the pattern and double its backslashes: `pattern: "[A-Z]{2}-\\\\d{6}"`'


@dataclass(frozen=True)
class PatternEntity:
    entity: str
    pattern: Any  # a compiled regex.Pattern (the package has no type information)


def compile_pattern(entity: str, pattern: object, problems: list[Problem], *, where: str = "bot.yaml",
                    line: int | None = None) -> PatternEntity | None:
    """Compile one pattern entity; None, with a problem, if it cannot be used."""
    if not is_entity_type(entity):
        problems.append(Problem(where, line, f"the entity type `{entity}`", TYPE_RULE, "e.g. `ORDER_ID`"))
        return None
    if not isinstance(pattern, str) or not pattern:
        problems.append(Problem(where, line, f"the pattern {pattern!r} of `{entity}`", "a regular expression as text",
                                _QUOTING))
        return None
    try:
        compiled = regex.compile(pattern, regex.VERSION0)
    except regex.error as error:
        where_in = f" at position {error.pos}" if error.pos is not None else ""
        shown = f"{pattern[: error.pos]}⟨here⟩{pattern[error.pos :]}" if error.pos is not None else pattern
        problems.append(Problem(where, line, f"the pattern `{pattern}` of `{entity}`: {error.msg}{where_in} ({shown})",
                                "a regular expression in Python's syntax",
                                "escape a special character with a backslash (`\\.`, `\\(`); " + _QUOTING))
        return None
    if compiled.fullmatch(""):
        problems.append(Problem(where, line, f"the pattern `{pattern}` of `{entity}`, which matches empty text",
                                "a pattern that needs at least one character",
                                "use `+` rather than `*` (`\\d+`), or `{1,}`"))
        return None
    return PatternEntity(entity, compiled)


def compile_patterns(patterns: Mapping[str, object], problems: list[Problem], *, where: str = "bot.yaml",
                     lines: Mapping[str, int] | None = None) -> list[PatternEntity]:
    """Compile ``{TYPE: pattern}``; problems for those that fail, the others returned."""
    out = []
    for entity, pattern in patterns.items():
        compiled = compile_pattern(entity, pattern, problems, where=where, line=(lines or {}).get(entity))
        if compiled is not None:
            out.append(compiled)
    return out


