"""Run a bot's conversation tests (``BOT_DIR/test/conversations/*.yml``) against a model.

Each conversation gets a fresh state (its own user in an in-memory store) and the bot's
dialogue as ``bot.yaml`` declares it. Nothing leaves the process: a scenario's webhook is never
called; it answers the step's ``webhook_reply`` instead, and a step without one gets the
scenario's failure answer, as when the service is down. ``now:`` is the conversation's reference
time: relative dates ("내일") are read from it, and the conversation's clock stands still at it.

``malmoi test MODEL BOT_DIR --conversations``, the gates of ``malmoi publish --data`` and
``malmoi retrain``, and the HTML report all use :func:`run_conversation_tests`.

    >>> report = run_conversation_tests(model, "bots/shop")     # doctest: +SKIP
    >>> report.ok, report.summary()                              # doctest: +SKIP
    (False, '2 conversation(s): 1 passed, 1 failed')
    >>> print("\\n".join(report.failure_lines()))                 # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from malmoi.data.conversations import Conversation, Step, conversations_dir, read_conversations
from malmoi.data.problems import DataError
from malmoi.labels import FALLBACK

__all__ = ["ConversationReport", "ConversationResult", "Mismatch", "StepResult", "run_conversation_tests",
           "write_junit"]


@dataclass(frozen=True)
class Mismatch:
    """One thing a step expected that the bot did not do."""

    what: str  # "intent", "entities" or "bot"
    expected: str
    got: str

    def __str__(self) -> str:
        return f"{self.what}: expected {self.expected}, got {self.got}"


@dataclass(frozen=True)
class StepResult:
    step: Step
    number: int  # 1-based, within its conversation
    answer: str | None
    intent: str  # `fallback` when the parser fell back
    confidence: float
    entities: tuple[tuple[str, str], ...]  # (type, value as written)
    status: str
    mismatches: tuple[Mismatch, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.mismatches

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "line": self.step.line, "user": self.step.user, "answer": self.answer,
                "intent": self.intent, "confidence": round(self.confidence, 4),
                "entities": [list(e) for e in self.entities], "status": self.status,
                "mismatches": [str(m) for m in self.mismatches]}


@dataclass(frozen=True)
class ConversationResult:
    conversation: Conversation
    steps: tuple[StepResult, ...] = ()
    seconds: float = 0.0
    error: str | None = None  # the conversation could not run (its scenarios do not fit the model)

    @property
    def passed(self) -> bool:
        return self.error is None and all(s.passed for s in self.steps)

    @property
    def failed_steps(self) -> list[StepResult]:
        return [s for s in self.steps if not s.passed]

    def failure_lines(self) -> list[str]:
        """What went wrong, step by step, expected against got (none when it passed)."""
        c = self.conversation
        if self.passed:
            return []
        lines = [f"FAIL {c.name} ({c.where})"]
        if self.error is not None:
            lines.append(f"  error: {self.error}")
        for step in self.failed_steps:
            lines.append(f"  step {step.number} ({Path(c.file).name}:{step.step.line}) user: {step.step.user}")
            lines += [f"    {m}" for m in step.mismatches]
        return lines

    def to_dict(self) -> dict[str, Any]:
        c = self.conversation
        return {"name": c.name, "file": c.file, "line": c.line, "passed": self.passed, "error": self.error,
                "seconds": round(self.seconds, 3), "now": c.now.isoformat() if c.now else None,
                "steps": [s.to_dict() for s in self.steps]}


@dataclass(frozen=True)
class ConversationReport:
    folder: Path
    results: tuple[ConversationResult, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[ConversationResult]:
        return [r for r in self.results if not r.passed]

    def summary(self) -> str:
        failed = len(self.failed)
        return (f"{len(self.results)} conversation(s) in {self.folder}: {len(self.results) - failed} passed, "
                f"{failed} failed")

    def failure_lines(self) -> list[str]:
        return [line for r in self.failed for line in r.failure_lines()]

    def failed_names(self) -> list[str]:
        return [f"{r.conversation.name} ({r.conversation.where})" for r in self.failed]

    def to_dict(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "total": len(self.results), "failed": len(self.failed),
                "conversations": [r.to_dict() for r in self.results]}


def run_conversation_tests(model: Any, path: str | os.PathLike[str], *,
                           conversations: Sequence[Conversation] | None = None) -> ConversationReport:
    """Run the conversation tests of ``path`` (a bot directory, or its ``test/`` folder) against ``model``.

    Raises:
        DataError: a conversation file has errors (each with its file and line); nothing ran.
    """
    folder = conversations_dir(path)
    if conversations is None:
        conversations, problems = read_conversations(path)
        if any(p.severity == "error" for p in problems):
            raise DataError(problems)
    if not conversations:
        return ConversationReport(folder)
    from malmoi.dialogue import engine
    from malmoi.dialogue.scenarios import ScenarioError

    runner = _Runner(model)
    try:
        dialogue = runner.dialogue()
    except ScenarioError as exc:
        return ConversationReport(folder, tuple(ConversationResult(c, error=str(exc)) for c in conversations))
    try:
        # A step without `webhook_reply` makes its stub fail on purpose: the engine logs that with a
        # traceback, which is noise in a test run (the step's answer shows the failure).
        with _quiet(logging.getLogger(engine.__name__)):
            results = tuple(runner.run(dialogue, number, c) for number, c in enumerate(conversations, 1))
    finally:
        dialogue.close()
        dialogue.store.close()
    return ConversationReport(folder, results)


@contextlib.contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    was = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was


class _Runner:
    """One model's dialogue with its webhooks answered by the steps, and a clock the conversations set."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.now = time.time()
        self.reply: tuple[bool, Any] = (False, None)  # the current step's webhook_reply, if it has one

    def dialogue(self) -> Any:
        from malmoi.dialogue.engine import Dialogue
        from malmoi.dialogue.scenarios import Scenarios
        from malmoi.dialogue.store import StateStore

        stubs = Scenarios()
        variables: set[str] = set()
        for intent, settings in self.model.config.scenarios.items():
            if settings.webhook is not None:
                stubs.action(intent)(self._webhook)
                variables |= settings.webhook.variables()
        return Dialogue(self.model, store=StateStore("sqlite://"), scenarios=stubs, model_version="conversation-test",
                        clock=lambda: self.now, environ={name: "conversation-test" for name in variables})

    def _webhook(self, **slots: Any) -> Any:
        given, reply = self.reply
        if not given:
            raise RuntimeError("the step gives no webhook_reply; a conversation test never calls a webhook")
        return reply

    def run(self, dialogue: Any, number: int, conversation: Conversation) -> ConversationResult:
        started = time.perf_counter()
        self.now = conversation.now.timestamp() if conversation.now else time.time()
        user = f"conversation-test-{number}"
        steps = []
        for index, step in enumerate(conversation.steps, 1):
            self.reply = (step.has_webhook_reply, step.webhook_reply)
            parse = self.model.parse(step.user, now=conversation.now)
            reply = dialogue.respond(user, parse, source="test")
            steps.append(_check(step, index, reply))
        return ConversationResult(conversation, tuple(steps), time.perf_counter() - started)


def _check(step: Step, number: int, reply: Any) -> StepResult:
    parse = reply.parse
    intent = FALLBACK if parse.fallback else parse.intent.name
    entities = tuple((e.entity, e.value) for e in parse.entities)
    mismatches = []
    if step.intent is not None and step.intent != intent:
        confidence = parse.intent.confidence
        nearest = parse.intent_ranking[0].name if parse.intent_ranking else "none"
        got = (f"{FALLBACK} (nearest {nearest} {confidence:.2f})" if parse.fallback
               else f"{intent} ({confidence:.2f})")
        mismatches.append(Mismatch("intent", step.intent, got))
    if step.entities is not None:
        missing = [f"{type_}={value}" for type_, values in step.entities for value in values
                   if not any(e.entity == type_ and value in _values(e) for e in parse.entities)]
        if missing or (not step.entities and parse.entities):
            expected = ", ".join(f"{t}={v}" for t, values in step.entities for v in values) or "none"
            got = ", ".join(f"{t}={v}" for t, v in entities) or "none"
            mismatches.append(Mismatch("entities", expected, got))
    if step.bot is not None and not step.bot.matches(reply.answer):
        mismatches.append(Mismatch("bot", repr(str(step.bot)) if step.bot.pattern is None else str(step.bot),
                                   repr(reply.answer)))
    return StepResult(step=step, number=number, answer=reply.answer, intent=intent,
                      confidence=float(parse.intent.confidence), entities=entities, status=reply.state.status,
                      mismatches=tuple(mismatches))


def _values(span: Any) -> set[str]:
    """What an expected value may equal: the entity's text, and its resolved value when it has one."""
    found = {" ".join(str(span.value).split())}
    resolved = getattr(span, "resolved", None)
    if isinstance(resolved, Mapping):
        found.update(str(v) for v in resolved.values() if isinstance(v, (str, int, float)))
    elif isinstance(resolved, (str, int, float)):
        found.add(str(resolved))
    elif resolved is not None and hasattr(resolved, "model_dump"):
        found.update(str(v) for v in resolved.model_dump().values() if isinstance(v, (str, int, float)))
    return found


def _first_problem(result: ConversationResult) -> str:
    if result.error is not None:
        return result.error
    step = result.failed_steps[0]
    return f"step {step.number} ({step.step.user}): {step.mismatches[0]}"


def write_junit(report: ConversationReport, path: str | os.PathLike[str]) -> Path:
    """JUnit XML for CI: a test suite per file, a test case per conversation, a failure per failed one.

    Carries malmoi's mark (a ``generator`` property), so that a later run may overwrite it
    (:func:`malmoi.outputs.check_file` with the kind ``"junit"``).
    """
    from malmoi.outputs import GENERATOR

    by_file: dict[str, list[ConversationResult]] = {}
    for result in report.results:
        by_file.setdefault(result.conversation.file, []).append(result)
    total_seconds = sum(r.seconds for r in report.results)
    root = ET.Element("testsuites", name="malmoi conversations", tests=str(len(report.results)),
                      failures=str(len(report.failed)), errors="0", time=f"{total_seconds:.3f}")
    if not by_file:  # no conversation at all: an empty suite still carries the mark
        by_file[str(report.folder)] = []
    for file, results in by_file.items():
        failed = sum(not r.passed for r in results)
        suite = ET.SubElement(root, "testsuite", name=Path(file).name, tests=str(len(results)),
                              failures=str(failed), errors="0", time=f"{sum(r.seconds for r in results):.3f}")
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="generator", value=GENERATOR)
        for result in results:
            c = result.conversation
            case = ET.SubElement(suite, "testcase", classname=Path(file).stem, name=c.name, file=file,
                                 line=str(c.line), time=f"{result.seconds:.3f}")
            if not result.passed:
                failure = ET.SubElement(case, "failure", message=_first_problem(result), type="ConversationFailed")
                failure.text = "\n".join(result.failure_lines())
    path = Path(path)
    tree = ET.ElementTree(root)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path
