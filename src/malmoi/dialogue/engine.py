"""Multi-turn slot filling: one message in, one answer out, the user's state kept in a store.

How a message is read (docs/dialogue.md tells the same for bot authors):

1. A cancel word (``취소``) drops the conversation.
2. While a scenario waits for an entity, the message continues it, filling every entity of the
   scenario it names, unless it is clearly another topic: an in-domain intent other than the
   scenario's, with at least ``dialogue.topic_change_confidence``, in a message that says more
   than the entities themselves. "부산", "부산이요", "부산으로 해줘" fill the slot whatever
   intent the classifier guesses for so short a text; "부산 맛집 알려줘" starts the restaurant
   scenario instead. When the asked-for entity is not found and its slot has ``accept_text``,
   a short message (3 words, 30 characters at most) is its value; otherwise the bot asks again.
3. Otherwise the message starts afresh: a fallback answer, a scenario, or a fixed answer.
4. A scenario with all its required entities runs its action (defaults filled in) and answers.

State changes are saved with optimistic concurrency (see :mod:`malmoi.dialogue.store`): on a
conflict the message is applied again to the state the other message left, so both count. The
action runs after the state is saved, so a conflict never makes it run twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from malmoi.dialogue.scenarios import (
    Scenario,
    Scenarios,
    answer_from_result,
    call_action,
    resolve_scenarios,
    resolve_webhooks,
)
from malmoi.dialogue.state import CANCELLED, FAIL, FALLBACK, REQUIRE, SUCCESS, ConversationState, Reply
from malmoi.labels import tag_types
from malmoi.model.result import ParseResult
from malmoi.settings import BotConfig

if TYPE_CHECKING:
    from malmoi.dialogue.store import StateStore

__all__ = ["Dialogue"]

logger = logging.getLogger("malmoi.dialogue")

_MAX_ATTEMPTS = 50  # conflicts need another message of the same user in the same milliseconds
# A reply taken whole as a slot value (accept_text) is a value, not a sentence.
_TEXT_VALUE_MAX_WORDS, _TEXT_VALUE_MAX_CHARS = 3, 30
_STRIP = " \t\r\n.!?~,。…"
# Morphemes that add nothing to an entity in a reply: particles (J), endings (E), punctuation and
# symbols (S), copula (VCP), auxiliaries (VX), suffixes (XS), bound nouns (NNB), and 하다.
_LIGHT_TAGS = ("J", "E", "S", "VCP", "VX", "XS", "NNB")
_LIGHT_VERBS = {"하", "주"}
_PARTICLE_TAGS = ("J", "E", "VCP", "S")  # trimmed from the end of a value: 하동에, 단양이요, 서울이에요
_NOUN_PHRASE_TAGS = ("N", "S", "J", "E", "VCP", "XR", "XSN", "XPN", "MM")  # what a value is made of


class Parser(Protocol):
    config: BotConfig
    intents: list[str]
    tags: list[str]

    def parse(self, text: str) -> ParseResult: ...


@dataclass
class _Step:
    state: ConversationState
    answer: str | None  # None: run the scenario's action after saving
    scenario: Scenario | None = None


class Dialogue:
    """A bot that holds conversations: a parser, its scenarios, and a state store.

    Args:
        model: a trained :class:`malmoi.Model` (anything with ``parse``, ``config``,
            ``intents`` and ``tags``).
        store: where states and the message log go; default: in memory.
        scenarios: scenarios and actions declared in Python, added to those of ``bot.yaml``.
        model_version: recorded with every logged message.
        bot_version: the registry version this dialogue answers for (logged; None for a model folder).
        clock: seconds since the epoch (tests pass a fake one for expiry).
        config: what the bot says (scenarios, answers, fallbacks, webhooks, timeouts); default
            the model's, the ``bot.yaml`` dialogue as it was at training. A server reads a bot
            directory's with :func:`malmoi.dialogue.bot_file.dialogue_config`.

    Example:
        >>> bot = Dialogue(malmoi.load("models/demo"))          # doctest: +SKIP
        >>> bot.chat("u1", "날씨 알려줘").answer                 # doctest: +SKIP
        '어느 지역의 날씨를 알려드릴까요?'
        >>> bot.chat("u1", "부산").state.slots                   # doctest: +SKIP
        {'LOCATION': '부산', 'DATE': '오늘'}
    """

    def __init__(
        self,
        model: Parser,
        *,
        store: StateStore | None = None,
        scenarios: Scenarios | None = None,
        model_version: str = "unknown",
        clock: Callable[[], float] = time.time,
        environ: Mapping[str, str] | None = None,
        config: BotConfig | None = None,
        bot_version: str | None = None,
    ) -> None:
        self.model = model
        self.config = model.config if config is None else config
        self.bot = self.config.name
        # The types the model finds: its tagger's and its extractors' (sys.time, dictionaries).
        entity_types = getattr(model, "entity_types", None) or tag_types(model.tags)
        self.scenarios = resolve_scenarios(self.config, model.intents, entity_types, scenarios)
        # Webhook credentials are `${NAME}` references, resolved once, here, from the server's
        # environment (``environ``, default os.environ): a missing variable stops the start.
        self._webhooks = resolve_webhooks(self.scenarios.values(), os.environ if environ is None else environ)
        if store is None:
            from malmoi.dialogue.store import StateStore

            store = StateStore("sqlite://")
        self.store = store
        self.model_version = model_version
        self.bot_version = bot_version
        self._clock = clock
        self._http: Any = None
        self._analyzer: Any = None  # only for results that come without their analysis
        self._cancel = {_squash(w) for w in self.config.dialogue.cancel_words}

    # -- public ----------------------------------------------------------------------------

    def chat(self, user_id: str, text: str, *, fill_only: bool = False, source: str = "chat",
             environment: str | None = None) -> Reply:
        """Answer one message of ``user_id``.

        Args:
            fill_only: the message only fills the slot being asked for and never changes the
                topic (Kochat's ``fill_slot``).
            source: recorded in the message log.
            environment: the registry environment that answers (production, beta...): logged, so
                that two versions can be compared on live traffic.
        """
        return self.respond(user_id, self.model.parse(text), fill_only=fill_only, source=source,
                            environment=environment)

    def respond(self, user_id: str, parse: ParseResult, *, fill_only: bool = False, source: str = "chat",
                environment: str | None = None) -> Reply:
        """Like :meth:`chat`, for a message already parsed."""
        from malmoi.dialogue.store import Conflict

        for _ in range(_MAX_ATTEMPTS):
            stored, version = self.store.load(self.bot, user_id)
            now = self._clock()
            previous = self._current(user_id, stored, now)
            step = self._step(previous, parse, fill_only)
            step.state.turn = previous.turn + 1
            step.state.updated_at = now
            message = self._message(parse, user_id, source, step, environment)
            try:
                message_id = self.store.save(
                    self.bot, user_id, step.state.model_dump(mode="json"),
                    expected_version=version, message=message,
                )
            except Conflict:
                time.sleep(random.uniform(0, 0.002))  # let the other writer finish its turn
                continue
            if step.answer is None:
                assert step.scenario is not None
                step.answer, status = self._run_action(step.scenario, step.state, user_id, parse.text)
                if status != step.state.status:
                    step.state.status = status
                    self._save_status(user_id, step.state)
                if message_id is not None:
                    self.store.finish_message(message_id, status=status, answer=step.answer)
            return Reply(answer=step.answer, parse=parse, state=step.state)
        raise RuntimeError(f"the state of user {user_id!r} kept changing under {_MAX_ATTEMPTS} attempts")

    def state(self, user_id: str) -> ConversationState:
        """The user's state now (``NEW`` after expiry)."""
        stored, _ = self.store.load(self.bot, user_id)
        return self._current(user_id, stored, self._clock())

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    # -- the decision ----------------------------------------------------------------------

    def _current(self, user_id: str, stored: Mapping[str, Any] | None, now: float) -> ConversationState:
        if stored is None:
            return ConversationState(user_id=user_id)
        try:
            state = ConversationState.model_validate({**stored, "user_id": user_id})
        except ValueError:  # edited by hand, or written by a future version: start over
            logger.warning("the stored state of user %r is unreadable; starting a new conversation", user_id)
            return ConversationState(user_id=user_id)
        if state.active and now - state.updated_at > self.config.dialogue.idle_timeout:
            return ConversationState(user_id=user_id, turn=state.turn)  # expired
        return state

    def _step(self, previous: ConversationState, parse: ParseResult, fill_only: bool) -> _Step:
        settings = self.config.dialogue
        user_id = previous.user_id
        if _squash(parse.text) in self._cancel:
            return _Step(ConversationState(user_id=user_id, status=CANCELLED), settings.cancel_answer)
        scenario = self.scenarios.get(previous.intent or "") if previous.active else None
        if scenario is not None:
            found, meanings = self._found(scenario, parse)
            asked = previous.missing[0]
            # A short noun phrase answering an open question ("떡볶이요") is the answer, whatever
            # intent the classifier guesses for it.
            text_value = None
            if not found and scenario.entities[asked].accept_text and not parse.entities:
                text_value = self._text_value(parse)
            other_topic = (
                not fill_only
                and text_value is None
                and not parse.fallback
                and parse.intent.name != scenario.intent
                and parse.intent.confidence >= settings.topic_change_confidence
                and not self._is_bare_reply(scenario, parse)
            )
            if not other_topic:
                slots = {**previous.slots, **found}
                # A slot given again keeps the meaning of its new value only.
                resolved = {**{k: v for k, v in previous.resolved.items() if k not in found}, **meanings}
                if text_value:
                    slots[asked] = text_value
                    resolved.pop(asked, None)
                return self._advance(user_id, scenario, slots, resolved)
        if parse.fallback:
            return self._fallback(previous)
        scenario = self.scenarios.get(parse.intent.name)
        if scenario is not None:
            if not fill_only and self._is_bare_reply(scenario, parse):
                # Only an entity ("부산") with no question open says where or when, not what the user
                # wants: the classifier's guess between intents that all take it is no answer.
                return self._fallback(previous)
            return self._advance(user_id, scenario, *self._found(scenario, parse))
        answer = settings.answers.get(parse.intent.name)
        if answer is not None:
            return _Step(ConversationState(user_id=user_id, status=SUCCESS, intent=parse.intent.name), answer)
        return self._fallback(previous)

    def _advance(self, user_id: str, scenario: Scenario, slots: dict[str, str], resolved: dict[str, Any]) -> _Step:
        missing = scenario.missing(slots)
        if missing:
            state = ConversationState(
                user_id=user_id, status=REQUIRE + "_".join(missing), intent=scenario.intent,
                slots=slots, resolved=resolved, missing=missing,
            )
            return _Step(state, scenario.question(missing[0]))
        filled = scenario.with_defaults(slots)
        state = ConversationState(user_id=user_id, status=SUCCESS, intent=scenario.intent, slots=filled,
                                  resolved={**self._resolved_defaults(scenario, filled.keys() - slots.keys()),
                                            **resolved})
        return _Step(state, None, scenario)

    def _resolved_defaults(self, scenario: Scenario, names: Iterable[str]) -> dict[str, Any]:
        """What the defaults of typed slots mean now (``DATE: {type: sys.time, default: 오늘}``)."""
        from malmoi.entity.values import find_values

        out = {}
        for name in names:
            slot = scenario.entities[name]
            if slot.kind is not None and slot.default is not None:
                values = find_values(slot.default, [slot.kind], now=datetime.now(self.config.zone))
                if values:
                    out[name] = values[0].resolved
        return out

    def _fallback(self, previous: ConversationState) -> _Step:
        answers = self.config.dialogue.fallback_answers
        answer = answers[previous.turn % len(answers)]
        return _Step(ConversationState(user_id=previous.user_id, status=FALLBACK), answer)

    # -- reading replies -------------------------------------------------------------------

    def _morphemes(self, parse: ParseResult) -> list[tuple[int, int, list[tuple[str, str]]]]:
        """(start, end, [(tag, base form), ...]) per token of the message, offsets into its text.

        Read from the analysis the parse already made (``parse.doc``); a result without one (from
        another parser, or rebuilt from JSON) is analysed here. Empty tags without an analyser.
        """
        doc = parse.doc
        if doc is None or doc.text != parse.text:
            if self._analyzer is None:
                from malmoi.text import Analyzer

                self._analyzer = Analyzer(self.config.language)
            doc = self._analyzer(parse.text)
        out = []
        for token in doc.tokens:
            start, end = doc.original_span(token)
            tags = token.pos.split("+") if token.pos else []
            forms = token.form.split("+") if token.form else [token.text] * len(tags)
            out.append((start, end, list(zip(tags, forms, strict=False))))
        return out

    def _clean_value(self, parse: ParseResult, start: int, end: int) -> str:
        """An entity value without the particles and endings a Korean word carries: "하동에" → "하동".

        Data that tags whole words (Kochat's) teaches the tagger to include them.
        """
        cut = end
        for token_start, token_end, morphemes in reversed(self._morphemes(parse)):
            if token_start < start or token_end > end:
                continue
            if not morphemes or not all(tag.startswith(_PARTICLE_TAGS) for tag, _ in morphemes):
                cut = token_end
                break
            cut = token_start
        value = parse.text[start:cut] if cut > start else parse.text[start:end]
        return " ".join(value.split()).strip(_STRIP)

    def _text_value(self, parse: ParseResult) -> str | None:
        """The message as a slot value (``accept_text``), if it is short and a noun phrase."""
        value = " ".join(parse.text.split()).strip(_STRIP)
        if not value or len(value) > _TEXT_VALUE_MAX_CHARS or len(value.split()) > _TEXT_VALUE_MAX_WORDS:
            return None
        morphemes = self._morphemes(parse)
        for _, _, token in morphemes:
            if any(not tag.startswith(_NOUN_PHRASE_TAGS) for tag, _ in token):
                return None  # a verb, adjective, adverb or interjection: a sentence, not a value
        first = min((s for s, _, m in morphemes if parse.text[s:].strip(_STRIP)), default=0)
        last = max((e for _, e, _ in morphemes), default=len(parse.text))
        return self._clean_value(parse, first, last) or None

    def _found(self, scenario: Scenario, parse: ParseResult) -> tuple[dict[str, str], dict[str, Any]]:
        """The scenario's entities in a message, cleaned (several of one type join with a space), and
        what they resolve to. A slot with a system type (``DATE: {type: sys.time}``) takes an entity
        of its name, else one of its type (``sys.time``)."""
        found: dict[str, str] = {}
        resolved: dict[str, Any] = {}
        by_type = {slot.type: name for name, slot in scenario.entities.items() if slot.type is not None}
        named = {span.entity for span in parse.entities}
        for span in parse.entities:
            name = span.entity if span.entity in scenario.entities else by_type.get(span.entity)
            if name is None or (name != span.entity and name in named):
                continue
            value = self._clean_value(parse, span.start, span.end)
            if value:
                found[name] = f"{found[name]} {value}" if name in found else value
                if span.resolved is not None:
                    resolved.setdefault(name, span.resolved)
        return found, resolved

    def _is_bare_reply(self, scenario: Scenario, parse: ParseResult) -> bool:
        """Whether a message is the scenario's entities plus only particles, endings and 하다."""
        spans = [(e.start, e.end) for e in parse.entities if e.entity in scenario.entities]
        if not spans:
            return False
        rest = "".join(" " if any(s <= i < e for s, e in spans) else ch for i, ch in enumerate(parse.text))
        if not rest.strip(_STRIP):
            return True
        # The whole text is analysed, not the remainder: "이요" alone reads differently.
        for start, end, morphemes in self._morphemes(parse):
            if any(s < end and start < e for s, e in spans):
                continue
            if not morphemes:  # no analyser for this language: allow a very short remainder
                return len(rest.replace(" ", "").strip(_STRIP)) <= 2
            for tag, form in morphemes:
                if not (tag.startswith(_LIGHT_TAGS) or (tag.startswith("VV") and form in _LIGHT_VERBS)):
                    return False
        return True

    # -- actions ---------------------------------------------------------------------------

    def _run_action(self, scenario: Scenario, state: ConversationState, user_id: str, text: str) -> tuple[str, str]:
        failure = scenario.settings.failure_answer
        try:
            if scenario.action is not None:
                result = call_action(scenario.action, scenario.values(state.slots))
            elif scenario.settings.webhook is not None:
                result = self._call_webhook(scenario, state, user_id, text)
            else:
                result = None
            return answer_from_result(scenario, state.slots, result, state.resolved, self.config.zone), SUCCESS
        except Exception:
            logger.exception("the action of scenario %r failed for user %r", scenario.intent, user_id)
            return failure, FAIL

    def _call_webhook(self, scenario: Scenario, state: ConversationState, user_id: str, text: str) -> Any:
        webhook = self._webhooks[scenario.intent]
        if self._http is None:
            try:
                import httpx
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise ImportError("webhooks need httpx: pip install 'malmoi[serve]'") from exc
            self._http = httpx.Client()
        payload = {
            "bot": self.bot, "intent": scenario.intent, "user_id": user_id, "text": text,
            "slots": scenario.values(state.slots), "resolved": state.resolved,
        }
        response = self._http.post(webhook.url, json=payload, headers=webhook.headers, timeout=webhook.timeout)
        response.raise_for_status()
        data = response.json()
        if not isinstance(data, (str, dict)):
            raise ValueError(f"the webhook replied {type(data).__name__}; expected a JSON object or string")
        return data

    def _save_status(self, user_id: str, state: ConversationState) -> None:
        """Record a failed action in the state, unless a newer message already moved it on."""
        from malmoi.dialogue.store import Conflict

        stored, version = self.store.load(self.bot, user_id)
        if stored is None or stored.get("turn") != state.turn:
            return
        with contextlib.suppress(Conflict):
            self.store.save(self.bot, user_id, state.model_dump(mode="json"), expected_version=version)

    def _message(self, parse: ParseResult, user_id: str, source: str, step: _Step,
                 environment: str | None) -> dict[str, Any]:
        return {
            "bot": self.bot, "user_id": user_id, "source": source, "text": parse.text,
            "intent": parse.intent.name, "confidence": parse.intent.confidence,
            "fallback": parse.fallback, "entities": [e.model_dump() for e in parse.entities],
            "model_version": self.model_version, "status": step.state.status, "answer": step.answer,
            "bot_version": self.bot_version, "environment": environment,
        }


def _squash(text: str) -> str:
    return "".join(text.split()).strip(_STRIP)

