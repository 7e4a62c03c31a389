"""Intents as YAML with entities marked inline, Markdown-link style: ``[서울](LOCATION)``.

::

    intents:
      weather:
        - 내일 [서울](LOCATION) 날씨 알려줘
        - "[부산](LOCATION) [모레](DATE) 비 와?"  # quoted: a leading [ makes a YAML list
        - text: 우산 챙겨야 해?                     # the per-item form works too

The YAML is walked as nodes rather than loaded, for two reasons: every utterance keeps its line
number, and an utterance such as ``yes`` or ``1.5`` stays text instead of becoming a bool or float.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from pathlib import Path

import yaml

from malmoi.data import tags as tagging
from malmoi.data._reading import (
    TypeUse,
    collapse_spaces,
    did_you_mean,
    read_utf8,
    reserved_intent_problem,
    utterance_problem,
)
from malmoi.data.problems import Problem
from malmoi.data.schema import Entity, Example

_ENTITY_RE = re.compile(r"\[([^\[\]]*)\]\(([^()]*)\)")
_BRACKET_RE = re.compile(r"[\[\]]")
_EXAMPLE = "intents:\n  weather:\n    - 내일 [서울](LOCATION) 날씨 알려줘"
_QUOTE_HINT = ('YAML reads a value that starts with `[` or `{` as a list or mapping; quote it: '
               '- "[부산](LOCATION) 비 와?"')


class MarkupError(ValueError):
    def __init__(self, found: str, expected: str, hint: str = ""):
        super().__init__(found)
        self.found, self.expected, self.hint = found, expected, hint


def parse_markup(text: str) -> tuple[str, list[tuple[int, int, str, str]]]:
    """Plain text and ``(start, end, type, as_written)`` entity spans of an annotated utterance.

    Raises :class:`MarkupError` on unbalanced brackets, an empty value or a bad type name.

    >>> parse_markup("내일 [서울](LOCATION) 날씨")
    ('내일 서울 날씨', [(3, 5, 'LOCATION', '[서울](LOCATION)')])
    """
    plain: list[str] = []
    spans: list[tuple[int, int, str, str]] = []
    length = 0
    position = 0
    for m in _ENTITY_RE.finditer(text):
        _check_plain(text, position, m.start())
        value, type_ = m[1], m[2].strip()
        if not value.strip():
            raise MarkupError(f"the empty entity `{m[0]}`", "`[value](TYPE)` with a value",
                              "put the entity's words between the brackets")
        if not tagging.is_entity_type(type_):
            hint = f"entity types are {tagging.TYPE_RULE}, like `LOCATION` or `city.name`"
            parsed = tagging.split_tag(type_)
            if parsed is not None and parsed[1]:
                hint = f"write the type without a tag prefix: `[{value}]({parsed[1]})`"
            raise MarkupError(f"the entity type `{m[2]}` in `{m[0]}`", "`[value](TYPE)`", hint)
        plain.append(text[position : m.start()])
        length += m.start() - position
        spans.append((length, length + len(value), type_, m[0]))
        plain.append(value)
        length += len(value)
        position = m.end()
    _check_plain(text, position, len(text))
    plain.append(text[position:])
    return "".join(plain), spans


def _check_plain(text: str, start: int, end: int) -> None:
    """Raise :class:`MarkupError` for a bracket outside a well-formed ``[value](TYPE)``."""
    bracket = _BRACKET_RE.search(text, start, end)
    if bracket is None:
        return
    i = bracket.start()
    if text[i] == "]":
        raise MarkupError(f"a `]` without its `[` (character {i + 1})",
                          "brackets only around entities: `[value](TYPE)`")
    close = text.find("]", i + 1)
    bad = text[i : close + 1] if close != -1 else text[i:]
    if close == -1 or "[" in text[i + 1 : close]:
        raise MarkupError(f"a `[` without its `]` in `{bad}` (character {i + 1})",
                          "`[value](TYPE)`")
    if not text.startswith("(", close + 1):
        raise MarkupError(f"`{bad}` without an entity type after it", "`[value](TYPE)`",
                          f"add the type right after the bracket: `{bad}(LOCATION)`")
    raise MarkupError(f"the unfinished entity `{text[i:]}`", "`[value](TYPE)`",
                      "close the entity type with `)`; types have no brackets inside")


def read_intent_yaml(
    path: Path, problems: list[Problem], uses: list[TypeUse]
) -> tuple[list[Example], dict[str, int]]:
    """The examples of an inline-annotated YAML file and its number of items per intent."""
    where = str(path)
    text = read_utf8(path, problems)
    if text is None:
        return [], {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        problems.append(yaml_syntax_problem(where, text, error))
        return [], {}
    except RecursionError:
        problems.append(Problem(where, None, "YAML nested too deeply", "a mapping of intents"))
        return [], {}
    if root is None:
        problems.append(Problem(where, 1, "an empty file", f"a YAML file like\n{_EXAMPLE}",
                                "add examples, or delete the file"))
        return [], {}
    if not isinstance(root, yaml.MappingNode):
        problems.append(
            _shape_problem(where, root, "the top level", "a mapping with the key `intents:`")
        )
        return [], {}

    intents_node = None
    for key, value in root.value:
        if key.value == "intents":
            intents_node = value
            continue
        close = did_you_mean(str(key.value), ["intents"])
        problems.append(
            Problem(where, _line(key), f"the key `{key.value}`", "only the key `intents`",
                    f"did you mean `{close}`?" if close else "remove it")
        )
    if intents_node is None:
        if not root.value:  # `{}`; otherwise each key there is has a problem above
            problems.append(
                Problem(where, _line(root), "no `intents:` key", f"a YAML file like\n{_EXAMPLE}")
            )
        return [], {}
    if not isinstance(intents_node, yaml.MappingNode):
        problems.append(_shape_problem(where, intents_node, "`intents:`",
                                       "a mapping from intent name to a list of utterances"))
        return [], {}

    examples: list[Example] = []
    counts: dict[str, int] = {}
    for key, items in intents_node.value:
        if not isinstance(key, yaml.ScalarNode) or not key.value.strip():
            problems.append(_shape_problem(where, key, "an intent name", "a name like `weather`"))
            continue
        intent = key.value.strip()
        reserved = reserved_intent_problem(intent, where, _line(key), "")
        if reserved is not None:
            problems.append(reserved)
            continue
        counts.setdefault(intent, 0)
        if isinstance(items, yaml.ScalarNode) and items.value == "":
            problems.append(Problem(where, _line(key), f"the intent `{intent}` with no utterances",
                                    "a list of utterances under it", "add `- utterance` lines"))
            continue
        if not isinstance(items, yaml.SequenceNode):
            problems.append(_shape_problem(where, items, f"the intent `{intent}`",
                                           "a list of utterances, one `- utterance` per line"))
            continue
        counts[intent] += len(items.value)
        for item in items.value:
            example = _read_item(where, intent, item, problems, uses)
            if example is not None:
                examples.append(example)
    return examples, counts


def _read_item(
    where: str, intent: str, item: yaml.Node, problems: list[Problem], uses: list[TypeUse]
) -> Example | None:
    """The example of one list item, or ``None`` after adding its problems (each skippable:
    an item with an error is left out whole by ``load_bot(skip_invalid=True)``)."""
    found: list[Problem] = []
    example = _item_example(where, intent, item, found, uses)
    problems.extend(replace(p, skippable=True) for p in found)
    return None if found else example


def _item_example(
    where: str, intent: str, item: yaml.Node, problems: list[Problem], uses: list[TypeUse]
) -> Example | None:
    if isinstance(item, yaml.MappingNode):
        text_node = None
        for key, value in item.value:
            if key.value == "text":
                text_node = value
            else:
                close = did_you_mean(str(key.value), ["text"])
                hint = f"did you mean `{close}`?" if close else (
                    'YAML reads `: ` as a key; quote an utterance that has one: - "시간: 3시"')
                problems.append(
                    Problem(where, _line(key), f"the key `{key.value}`", "only `text:`", hint)
                )
        if text_node is None:
            if not item.value:  # `- {}`; otherwise each key it has got a problem above
                problems.append(Problem(where, _line(item), "an item without `text:`",
                                        "`- text: utterance` or `- utterance`"))
            return None
        item = text_node
    if not isinstance(item, yaml.ScalarNode):
        hint = ""
        if isinstance(item, yaml.SequenceNode):
            hint = _QUOTE_HINT
        problems.append(_shape_problem(where, item, "an utterance", "text", hint))
        return None
    line = _line(item)
    try:
        plain, spans = parse_markup(unicodedata.normalize("NFC", item.value))
    except MarkupError as error:
        problems.append(Problem(where, line, error.found, error.expected, error.hint))
        return None
    text, moved = collapse_spaces(plain, [(start, end) for start, end, _, _ in spans])
    if not text:
        problems.append(Problem(where, line, "an empty utterance", "the utterance text",
                                "write the utterance, or delete the item"))
        return None
    junk = utterance_problem(text)
    if junk is not None:
        problems.append(Problem(where, line, junk[0], "the utterance text", junk[1]))
        return None
    entities = []
    for (_, _, type_, written), span in zip(spans, moved):
        assert span is not None  # parse_markup rejects blank values
        entities.append(Entity(span[0], span[1], type_, text[span[0] : span[1]]))
        uses.append(TypeUse(where, line, type_, written))
    return Example(text, intent, tuple(entities), f"{where}:{line}")


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _shape_problem(
    where: str, node: yaml.Node, what: str, expected: str, hint: str = ""
) -> Problem:
    kinds = {yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list", yaml.ScalarNode: "text"}
    found = f"{kinds.get(type(node), 'a node')} as {what}"
    return Problem(where, _line(node), found, expected, hint)


def yaml_syntax_problem(where: str, text: str, error: yaml.YAMLError) -> Problem:
    """A YAML syntax error as a problem on the line where the parser gave up."""
    if isinstance(error, yaml.reader.ReaderError):  # a control character; it has no mark
        return Problem(where, text.count("\n", 0, error.position) + 1,
                       f"the control character U+{error.character:04X}", "printable text",
                       "delete it; YAML allows no control characters")
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    found = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    if context:
        found = f"{found} ({context})"
    hint = "check the indentation and quotes around this line"
    nearby = text.splitlines()[max(0, (line or 1) - 2) : line or 1]
    if any(row.lstrip().lstrip("- ").startswith(("[", "{")) for row in nearby):
        hint = _QUOTE_HINT
    return Problem(where, line, f"a YAML syntax error: {found}", "valid YAML", hint)
