"""Conversation tests: the conversations a bot must keep getting right, read with file and line.

``BOT_DIR/test/conversations/*.yml`` (docs/testing.md)::

    conversations:
      - name: weather asks for the city
        now: 2024-05-15T10:30:00+09:00      # optional: the reference time of the conversation
        steps:
          - user: 날씨 알려줘
            intent: weather                  # optional; `fallback` for out of domain
            bot: 어느 지역의 날씨를 알려드릴까요?  # the exact answer, or /a regex/
          - user: 부산
            entities: {LOCATION: 부산}         # optional
            bot: /부산.*날씨/
          - user: 부산 맛집 알려줘
            webhook_reply: {name: 할매냉면}    # what the scenario's webhook answers in the test

Reading only: :mod:`malmoi.dialogue.testing` runs them. Like the intent files, the YAML is walked
as nodes, so every step keeps its line and ``user: yes`` stays the text "yes".
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from malmoi.data._inline_yaml import yaml_syntax_problem
from malmoi.data._reading import did_you_mean, normalize_text, read_utf8
from malmoi.data.problems import Problem
from malmoi.labels import FALLBACK

__all__ = ["CONVERSATIONS_DIR", "Conversation", "Expected", "Step", "conversations_dir", "read_conversations"]

CONVERSATIONS_DIR = Path("test") / "conversations"
_SUFFIXES = (".yml", ".yaml")
_CONVERSATION_KEYS = ("name", "now", "steps")
_STEP_KEYS = ("user", "intent", "entities", "bot", "webhook_reply")
_EXAMPLE = ("conversations:\n  - name: weather asks for the city\n    steps:\n      - user: 날씨 알려줘\n"
            "        intent: weather\n        bot: 어느 지역의 날씨를 알려드릴까요?")


@dataclass(frozen=True)
class Expected:
    """An expected answer: the exact text (spaces at the ends ignored), or ``/a regex/`` searched in it."""

    text: str
    pattern: re.Pattern[str] | None = None

    def matches(self, answer: str | None) -> bool:
        if answer is None:
            return False
        if self.pattern is not None:
            return self.pattern.search(answer) is not None
        return answer.strip() == self.text.strip()

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Step:
    """One message of the user and what must follow it; ``None`` checks nothing."""

    user: str
    line: int
    intent: str | None = None
    entities: tuple[tuple[str, tuple[str, ...]], ...] | None = None  # type -> its values, in the file's order
    bot: Expected | None = None
    webhook_reply: Any = None  # the JSON a webhook would answer (a mapping or a string)
    has_webhook_reply: bool = False

    @property
    def expects_fallback(self) -> bool:
        return self.intent == FALLBACK


@dataclass(frozen=True)
class Conversation:
    name: str
    file: str
    line: int
    steps: tuple[Step, ...]
    now: datetime | None = None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def conversations_dir(path: str | os.PathLike[str]) -> Path:
    """The folder of conversation tests for ``path``: a bot directory's ``test/conversations``, or
    the ``conversations`` folder of the test directory itself (``BOT_DIR/test``)."""
    path = Path(path)
    own = path / "conversations"
    return own if not (path / CONVERSATIONS_DIR).is_dir() and own.is_dir() else path / CONVERSATIONS_DIR


def read_conversations(
    path: str | os.PathLike[str], *, intents: Iterable[str] | None = None, entity_types: Iterable[str] | None = None
) -> tuple[list[Conversation], list[Problem]]:
    """Every conversation test of ``path`` (see :func:`conversations_dir`) and every problem found.

    ``intents`` and ``entity_types``, when given, are the bot's: a step that expects another intent is
    an error, another entity type a warning (with the name it probably meant). No folder is no tests
    and no problem.
    """
    folder = conversations_dir(path)
    problems: list[Problem] = []
    conversations: list[Conversation] = []
    if not folder.is_dir():
        return conversations, problems
    files = sorted(p for p in folder.iterdir() if p.suffix in _SUFFIXES and not p.name.startswith("."))
    known = _Known(intents, entity_types)
    for file in files:
        conversations += _read_file(file, problems, known)
    names: dict[str, Conversation] = {}
    for conversation in conversations:
        earlier = names.setdefault(conversation.name, conversation)
        if earlier is not conversation:
            problems.append(Problem(conversation.file, conversation.line, f"a second conversation named "
                                    f"`{conversation.name}` (the first is at {earlier.where})",
                                    "a name of its own for each conversation", "test reports tell them apart by name"))
    return conversations, problems


@dataclass(frozen=True)
class _Known:
    intents: Iterable[str] | None
    entity_types: Iterable[str] | None

    def check(self, where: str, node: yaml.Node, what: str, name: str, choices: Iterable[str] | None,
              problems: list[Problem], extra: tuple[str, ...] = (), severity: str = "error") -> None:
        if choices is None:
            return
        names = sorted({*choices, *extra})
        if name in names:
            return
        close = did_you_mean(name, names)
        problems.append(Problem(where, _line(node), f"the {what} `{name}`, which the bot's data does not have",
                                f"one of {', '.join(names) or 'none'}", f"did you mean `{close}`?" if close else "",
                                severity))


def _read_file(path: Path, problems: list[Problem], known: _Known) -> list[Conversation]:
    where = str(path)
    text = read_utf8(path, problems)
    if text is None:
        return []
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        problems.append(yaml_syntax_problem(where, text, error))
        return []
    except RecursionError:
        problems.append(Problem(where, None, "YAML nested too deeply", "a list of conversations"))
        return []
    if root is None:
        problems.append(Problem(where, 1, "an empty file", f"a YAML file like\n{_EXAMPLE}", "or delete the file"))
        return []
    before = len(problems)
    items = _mapping(where, root, "the top level", "a mapping with the key `conversations:`", ("conversations",),
                     problems)
    if items is None:
        return []
    listed = items.get("conversations")
    if listed is None:
        if len(problems) == before:  # otherwise each key there is has its problem
            problems.append(Problem(where, _line(root), "no `conversations:` key", f"a YAML file like\n{_EXAMPLE}"))
        return []
    if not isinstance(listed, yaml.SequenceNode):
        problems.append(_shape(where, listed, "`conversations:`", "a list of conversations, each `- name: ...`"))
        return []
    found = []
    for node in listed.value:
        conversation = _conversation(where, node, problems, known)
        if conversation is not None:
            found.append(conversation)
    return found


def _conversation(where: str, node: yaml.Node, problems: list[Problem], known: _Known) -> Conversation | None:
    fields = _mapping(where, node, "a conversation", "a mapping with `name:` and `steps:`", _CONVERSATION_KEYS,
                      problems)
    if fields is None:
        return None
    before = _errors(problems)
    name = _text(where, fields.get("name"), node, "`name:`", problems)
    now = _time(where, fields["now"], problems) if "now" in fields else None
    steps_node = fields.get("steps")
    steps: list[Step] = []
    if steps_node is None:
        problems.append(Problem(where, _line(node), "a conversation without `steps:`",
                                "`steps:` with at least one `- user: ...`"))
    elif not isinstance(steps_node, yaml.SequenceNode) or not steps_node.value:
        problems.append(_shape(where, steps_node, "`steps:`", "a list of steps, each `- user: ...`"))
    else:
        for step_node in steps_node.value:
            step = _step(where, step_node, problems, known)
            if step is not None:
                steps.append(step)
    if _errors(problems) > before or name is None:
        return None
    return Conversation(name=name, file=where, line=_line(node), steps=tuple(steps), now=now)


def _step(where: str, node: yaml.Node, problems: list[Problem], known: _Known) -> Step | None:
    fields = _mapping(where, node, "a step", "a mapping with `user:`", _STEP_KEYS, problems)
    if fields is None:
        return None
    before = _errors(problems)
    user = _text(where, fields.get("user"), node, "`user:`", problems)
    intent = None
    if "intent" in fields:
        intent = _text(where, fields["intent"], node, "`intent:`", problems)
        if intent is not None:
            known.check(where, fields["intent"], "intent", intent, known.intents, problems, extra=(FALLBACK,))
    entities = _entities(where, fields["entities"], problems, known) if "entities" in fields else None
    bot = _expected(where, fields["bot"], problems) if "bot" in fields else None
    reply = None
    if "webhook_reply" in fields:
        reply = _json_value(fields["webhook_reply"])
        if not isinstance(reply, (dict, str)):
            problems.append(_shape(where, fields["webhook_reply"], "`webhook_reply:`",
                                   "what the webhook answers: a mapping like `{name: 할매냉면}`, or a text"))
    if _errors(problems) > before or user is None:
        return None
    return Step(user=user, line=_line(node), intent=intent, entities=entities, bot=bot, webhook_reply=reply,
                has_webhook_reply="webhook_reply" in fields)


def _entities(where: str, node: yaml.Node, problems: list[Problem],
              known: _Known) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
    if not isinstance(node, yaml.MappingNode):
        problems.append(_shape(where, node, "`entities:`",
                               "a mapping of entity type to value, like `{LOCATION: 부산}`"))
        return None
    found = []
    for key, value in node.value:
        type_ = key.value.strip() if isinstance(key, yaml.ScalarNode) else ""
        if not type_:
            problems.append(_shape(where, key, "an entity type", "a type like `LOCATION`"))
            continue
        # A warning: an extractor (dates, amounts, a dictionary) may find types the data never tags.
        known.check(where, key, "entity type", type_, known.entity_types, problems, severity="warning")
        values = value.value if isinstance(value, yaml.SequenceNode) else [value]
        texts = []
        for item in values:
            if not isinstance(item, yaml.ScalarNode) or not item.value.strip():
                problems.append(_shape(where, item, f"the value of `{type_}`", "a text, or a list of texts"))
                continue
            texts.append(normalize_text(item.value))
        found.append((type_, tuple(texts)))
    return tuple(found)


def _expected(where: str, node: yaml.Node, problems: list[Problem]) -> Expected | None:
    if not isinstance(node, yaml.ScalarNode) or not node.value.strip():
        problems.append(_shape(where, node, "`bot:`", "the answer's text, or `/a regex/`"))
        return None
    text = node.value
    if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
        try:
            return Expected(text, re.compile(text[1:-1]))
        except re.error as exc:
            problems.append(Problem(where, _line(node), f"the regular expression `{text}`, which does not compile "
                                    f"({exc})", "a Python regular expression between slashes, like `/부산.*날씨/`",
                                    "or the exact answer without slashes"))
            return None
    return Expected(text)


def _time(where: str, node: yaml.Node, problems: list[Problem]) -> datetime | None:
    expected = "a time with its UTC offset, like 2024-05-15T10:30:00+09:00"
    if not isinstance(node, yaml.ScalarNode):
        problems.append(_shape(where, node, "`now:`", expected))
        return None
    value = node.value.strip()
    try:
        when = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    except ValueError:
        problems.append(Problem(where, _line(node), f"`now: {value}`", expected))
        return None
    if when.tzinfo is None:
        problems.append(Problem(where, _line(node), f"`now: {value}` without a UTC offset", expected,
                                "a test must mean the same time on every machine: add +09:00 (KST) or Z (UTC)"))
        return None
    return when


def _mapping(where: str, node: yaml.Node, what: str, expected: str, keys: tuple[str, ...],
             problems: list[Problem]) -> dict[str, yaml.Node] | None:
    """A mapping node's values by key; a problem for every key not in ``keys``."""
    if not isinstance(node, yaml.MappingNode):
        problems.append(_shape(where, node, what, expected))
        return None
    fields: dict[str, yaml.Node] = {}
    for key, value in node.value:
        name = str(key.value)
        if name in keys:
            fields[name] = value
            continue
        close = did_you_mean(name, keys)
        problems.append(Problem(where, _line(key), f"the key `{name}`", f"one of {', '.join(keys)}",
                                f"did you mean `{close}`?" if close else "remove it"))
    return fields


def _text(where: str, node: yaml.Node | None, parent: yaml.Node, what: str, problems: list[Problem]) -> str | None:
    if node is None:
        problems.append(Problem(where, _line(parent), f"no {what}", f"{what} with a text"))
        return None
    if not isinstance(node, yaml.ScalarNode) or not node.value.strip():
        problems.append(_shape(where, node, what, "a text"))
        return None
    return normalize_text(node.value)


def _json_value(node: yaml.Node) -> Any:
    """A node as plain data (YAML's own types: numbers, booleans, mappings)."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _errors(problems: list[Problem]) -> int:
    return sum(p.severity == "error" for p in problems)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _shape(where: str, node: yaml.Node, what: str, expected: str) -> Problem:
    if isinstance(node, yaml.ScalarNode) and not node.value.strip():
        found = f"nothing as {what}"
    else:
        kinds = {yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list", yaml.ScalarNode: "text"}
        found = f"{kinds.get(type(node), 'a node')} as {what}"
    return Problem(where, _line(node), found, expected)
