"""Scenarios: which entities an intent needs, what to ask for each, and how to answer.

A scenario is declared in ``bot.yaml`` (``scenarios:``, see :class:`malmoi.settings.ScenarioSettings`)
or in Python with :class:`Scenarios`, whose decorator also attaches a Python action to a scenario
that ``bot.yaml`` declares. The idea follows Kochat's ``Scenario(intent, api, scenario={...})``:
entities map to the action's parameters by name, and an empty slot without a default is asked for.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from malmoi.settings import BotConfig, ScenarioSettings, SlotSettings, WebhookSettings
from malmoi.templates import render, template_fields

__all__ = ["Scenario", "ScenarioError", "Scenarios", "Slot", "resolve_scenarios", "resolve_webhooks"]

logger = logging.getLogger("malmoi.dialogue")

Slot = SlotSettings  # the name users write: Slot(question="어느 지역이요?"), Slot(default="오늘")
Action = Callable[..., Any]

# Questions for common entity types when a scenario gives none; other types get a generic one.
_QUESTIONS = {
    "LOCATION": "어느 지역인지 알려주세요.",
    "DATE": "언제인지 알려주세요.",
    "TIME": "몇 시인지 알려주세요.",
    "PLACE": "어떤 곳인지 알려주세요.",
    "RESTAURANT": "어떤 음식인지 알려주세요.",
    "PERSON": "누구인지 알려주세요.",
}


class ScenarioError(ValueError):
    """A scenario that cannot work with this model: unknown intent or entity, bad action."""


@dataclass(frozen=True)
class Scenario:
    """A scenario resolved against a model: its settings and its Python action, if any."""

    intent: str
    settings: ScenarioSettings
    action: Action | None = None

    @property
    def entities(self) -> Mapping[str, SlotSettings]:
        return self.settings.entities

    def missing(self, slots: Mapping[str, str]) -> list[str]:
        """Entities still to ask for, in declaration order."""
        return [
            name for name, slot in self.entities.items()
            if slot.required and slot.default is None and name not in slots
        ]

    def question(self, entity: str) -> str:
        slot = self.entities[entity]
        return slot.question or _QUESTIONS.get(entity, f"{entity}을(를) 알려주세요.")

    def with_defaults(self, slots: Mapping[str, str]) -> dict[str, str]:
        """The slots plus defaults for those the user never gave."""
        filled = dict(slots)
        for name, slot in self.entities.items():
            if name not in filled and slot.default is not None:
                filled[name] = slot.default
        return filled

    def values(self, slots: Mapping[str, str]) -> dict[str, str | None]:
        """Every declared entity for templates and actions; an optional one not given is ``None``."""
        return {name: slots.get(name) for name in self.entities}


class Scenarios:
    """Scenarios and actions declared in Python.

    Entities reach the action as keyword arguments named after them, case ignored (``LOCATION``
    → ``location``); an optional entity the user did not give arrives as ``None``. The action
    returns the answer (``str``), values for the answer template (a mapping), or ``None`` to
    use the template with the entities alone. An exception gives the scenario's failure answer.

    >>> scenarios = Scenarios()
    >>> @scenarios.scenario("weather", entities={"LOCATION": Slot(question="어느 지역이요?"),
    ...                                          "DATE": Slot(default="오늘")})
    ... def weather(location: str, date: str) -> str:
    ...     return f"{date} {location}은 맑아요."
    >>> @scenarios.action("travel")  # the travel scenario itself is declared in bot.yaml
    ... def travel(location: str, date: str | None) -> dict:
    ...     return {"spot": "해변"}
    """

    def __init__(self) -> None:
        self.declared: dict[str, ScenarioSettings] = {}
        self.actions: dict[str, Action] = {}

    def scenario(
        self,
        intent: str,
        *,
        entities: Mapping[str, SlotSettings | Mapping[str, Any]] | None = None,
        answer: str | None = None,
        failure_answer: str | None = None,
    ) -> Callable[[Action], Action]:
        """Declare a scenario whose action is the decorated function (replaces one in bot.yaml)."""
        fields: dict[str, Any] = {"entities": dict(entities or {}), "answer": answer}
        if failure_answer is not None:
            fields["failure_answer"] = failure_answer
        settings = _validated_without_template_check(fields)

        def register(function: Action) -> Action:
            self.declared[intent] = settings
            self.actions[intent] = function
            return function

        return register

    def action(self, intent: str) -> Callable[[Action], Action]:
        """Attach the decorated function to the scenario of ``intent`` declared in bot.yaml."""

        def register(function: Action) -> Action:
            self.actions[intent] = function
            return function

        return register


def _validated_without_template_check(fields: dict[str, Any]) -> ScenarioSettings:
    # A Python action may return values the answer template uses, so unknown {names} are
    # checked against the action's result when it runs, not against the entities here.
    answer = fields.pop("answer")
    settings = ScenarioSettings.model_validate(fields)
    if answer is not None:
        template_fields(answer)
        settings = settings.model_copy(update={"answer": answer})
    return settings


def resolve_scenarios(
    config: BotConfig,
    intents: Iterable[str],
    entity_types: Iterable[str],
    python: Scenarios | None = None,
) -> dict[str, Scenario]:
    """Check every scenario against the model's intents and entity types; intent → Scenario.

    Raises:
        ScenarioError: naming the scenario, what is wrong and the likely fix.
    """
    from malmoi.data._reading import did_you_mean

    intents, entity_types = list(intents), set(entity_types)
    declared = dict(config.scenarios)
    actions: dict[str, Action] = {}
    if python is not None:
        for intent in python.declared:
            if intent in declared:
                logger.info("scenario %r from Python replaces the one in bot.yaml", intent)
        declared.update(python.declared)
        actions = dict(python.actions)
        for intent in actions:
            if intent not in declared:
                raise ScenarioError(
                    f"@scenarios.action({intent!r}) has no scenario to attach to; declare "
                    f"`scenarios: {intent}:` in bot.yaml or use @scenarios.scenario({intent!r}, ...)"
                )

    def check_intent(intent: str, where: str) -> None:
        if intent not in intents:
            close = did_you_mean(intent, intents)
            hint = f"did you mean {close!r}?" if close else f"the model's intents are {', '.join(intents)}"
            raise ScenarioError(f"{where} names the intent {intent!r}, which the model does not know; {hint}")

    resolved: dict[str, Scenario] = {}
    for intent, settings in declared.items():
        check_intent(intent, f"the scenario {intent!r}")
        for name, slot in settings.entities.items():
            if name not in entity_types and not slot.accept_text and slot.type not in entity_types:
                close = did_you_mean(name, entity_types)
                hint = (f"did you mean {close!r}?" if close
                        else f"the model tags {', '.join(sorted(entity_types)) or 'no entities'}")
                raise ScenarioError(
                    f"the scenario {intent!r} collects the entity {name!r}, which the model never "
                    f"tags, so it could never be filled; {hint} (or set accept_text: true)"
                )
        action = actions.get(intent)
        if action is not None:
            _check_action(intent, action, settings)
        elif settings.answer is None and settings.webhook is None:
            raise ScenarioError(
                f"the scenario {intent!r} has no way to answer: give it an `answer:` template, "
                f"a `webhook:`, or a Python action"
            )
        resolved[intent] = Scenario(intent, settings, action)
    for intent in config.dialogue.answers:
        check_intent(intent, f"dialogue.answers.{intent}")
        if intent in resolved:
            raise ScenarioError(
                f"the intent {intent!r} has both a scenario and a fixed answer in dialogue.answers; "
                f"keep one (a scenario without entities can answer with its `answer:` template)"
            )
    return resolved


def _check_action(intent: str, action: Action, settings: ScenarioSettings) -> None:
    if not callable(action):
        raise ScenarioError(f"the action of scenario {intent!r} is {action!r}, not a function")
    by_lower = {name.lower(): name for name in settings.entities}
    try:
        parameters = inspect.signature(action).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: trust it takes **kwargs
        return
    for p in parameters:
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        if p.name.lower() not in by_lower and p.default is inspect.Parameter.empty:
            raise ScenarioError(
                f"the action {getattr(action, '__name__', action)!r} of scenario {intent!r} takes "
                f"`{p.name}`, which is not one of its entities ({', '.join(settings.entities) or 'none'}); "
                f"name each parameter after an entity (case is ignored) or add **slots"
            )


def call_action(action: Action, values: Mapping[str, str | None]) -> Any:
    """Call a Python action with the entity values its signature asks for."""
    try:
        parameters = list(inspect.signature(action).parameters.values())
    except (TypeError, ValueError):
        return action(**values)
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return action(**values)
    by_lower = {name.lower(): value for name, value in values.items()}
    kwargs = {p.name: by_lower[p.name.lower()] for p in parameters if p.name.lower() in by_lower}
    return action(**kwargs)


def answer_from_result(scenario: Scenario, slots: Mapping[str, str], result: Any,
                       resolved: Mapping[str, Any] | None = None, zone: tzinfo | None = None) -> str:
    """The answer for an action's result; ``ValueError`` when it cannot make one.

    ``resolved``: the slots' resolved values, which ``{DATE:%m월 %d일}`` formats (times shown in ``zone``).
    """
    if isinstance(result, str):
        if not result.strip():
            raise ValueError("the action returned an empty answer")
        return result
    values: dict[str, Any] = dict(scenario.values(slots))
    if isinstance(result, Mapping):
        values.update({str(k): v for k, v in result.items()})
    elif result is not None:
        raise ValueError(f"the action returned {type(result).__name__}; expected str, a mapping or None")
    template = scenario.settings.answer
    if template is None:
        answer = values.get("answer")
        if not isinstance(answer, str) or not answer.strip():
            raise ValueError("the scenario has no answer template and the action gave no 'answer'")
        return answer
    try:
        return render(template, values, resolved, zone)
    except KeyError as exc:
        raise ValueError(f"the answer template uses {{{exc.args[0]}}}, which has no value") from None


def resolve_webhooks(scenarios: Iterable[Scenario], environ: Mapping[str, str]) -> dict[str, WebhookSettings]:
    """Each scenario's webhook with its ``${NAME}`` references replaced from ``environ``, by intent.

    Raises :class:`ScenarioError` naming every variable that ``environ`` lacks, and where it is used.
    """
    resolved: dict[str, WebhookSettings] = {}
    missing: list[str] = []
    for scenario in scenarios:
        webhook = scenario.settings.webhook
        if webhook is None:
            continue
        absent = sorted(webhook.variables() - set(environ))
        missing += [f"{name} (scenario {scenario.intent!r})" for name in absent]
        if not absent:
            resolved[scenario.intent] = webhook.resolved(environ)
    if missing:
        raise ScenarioError(
            f"the webhooks need environment variable(s) that are not set: {', '.join(missing)}; set them in the "
            "server's environment before it starts (bot.yaml refers to them as ${NAME})"
        )
    return resolved
