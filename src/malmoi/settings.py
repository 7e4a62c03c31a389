"""Bot configuration (``bot.yaml``) and training settings: one validated object each.

A ``bot.yaml`` holds two kinds of settings. What the model learns from (``settings``,
``entities``, ``language``...) is fixed when it is trained, and a trained model stores it next to
its weights, so it describes itself. What the bot says and calls (:data:`DIALOGUE_FIELDS`:
``scenarios`` and ``dialogue``: answers, fallback texts, webhooks, timeouts, cancel words) is read
by the server: from a bot directory when it is given one (``malmoi serve MODEL --bot-dir BOT_DIR``,
a registry version's stored ``bot.yaml``), else the copy saved with the model at training
(:meth:`BotConfig.with_dialogue_of`). Changing an answer therefore needs no retraining.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SerializeAsAny, ValidationInfo, field_validator, model_validator

from malmoi.component_settings import ComponentSettings
from malmoi.component_settings import StrictModel as _Strict
from malmoi.credentials import literal_secret, referenced_variables, substitute
from malmoi.labels import SYSTEM_KINDS, SYSTEM_PREFIX, is_entity_type
from malmoi.templates import template_formats

__all__ = [
    "DIALOGUE_FIELDS", "STORED", "BotConfig", "ComponentSettings", "DialogueSettings", "EntityDeclaration",
    "EntitySettings", "IntentSettings", "ScenarioSettings", "Settings", "SlotSettings", "SystemKind",
    "TrainingSettings", "WebhookSettings",
]

SystemKind = Literal["time", "number", "money", "duration", "ordinal", "phone", "email", "url"]
assert set(SystemKind.__args__) == set(SYSTEM_KINDS)  # type: ignore[attr-defined]


# Validation context for settings read back from a saved model rather than from a bot directory:
# rules added after a model was saved (no literal webhook credentials) do not stop it loading.
STORED = {"stored": True}

# The fields of BotConfig that say what the bot says and calls, read at serve time: never learned.
DIALOGUE_FIELDS = ("scenarios", "dialogue")


def _component(registry_name: str, default: str) -> Any:
    """A ``before`` validator: ``{"type": name, ...}`` → the named part's validated settings."""

    def validate(value: Any) -> Any:
        from malmoi import registry
        if isinstance(value, ComponentSettings):
            return value
        if value is None:
            value = {}
        if isinstance(value, str):  # `lexical: none`, `encoder: bilstm`
            value = {"type": value}
        if not isinstance(value, dict):
            raise ValueError(f"expected a mapping like {{type: {default}}}, not {type(value).__name__}")
        values = dict(value)
        if "kind" in values and "type" not in values:  # the name before components had types
            values["type"] = values.pop("kind")
        name = values.get("type", default)
        if not isinstance(name, str):
            raise ValueError(f"`type` must be a name like {default}, not {name!r}")
        reg = getattr(registry, registry_name)
        try:
            entry = reg.get(name)
        except registry.RegistryError as exc:
            raise ValueError(str(exc)) from None
        validated = entry.validate(values)  # errors show the values as the user wrote them
        return validated.model_copy(update={"type": entry.name})

    return validate


class IntentSettings(_Strict):
    # cosface: tight angular clusters make the cosine to the nearest centre a good fallback
    # score (see malmoi.intent.losses for the others and docs/intent.md for measurements).
    # Any name registered in malmoi.registry.intent_losses.
    loss: str = "cosface"
    # cosface: additive cosine margin; gaussian_mixture: relative enlargement of the true
    # class's distance (L-GM's alpha).
    margin: float = Field(0.2, ge=0.0, le=1.0)
    scale: float = Field(16.0, gt=0.0)  # cosface, coco: logit scale of the cosines
    # center, gaussian_mixture: weight of the pull toward the class centre (lambda in the papers).
    centre_weight: float = Field(0.1, ge=0.0)
    focal_gamma: float = Field(0.0, ge=0.0, le=5.0)  # > 0: focal loss, for imbalanced intents
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)  # > 0: soft targets, for noisy labels
    fallback: bool = True  # False: never answer "fallback"
    # The linear floor (malmoi.intent.linear): logistic regression on the lexical n-grams beside
    # the neural head, blended with it by weights learned on the held-out share, so that the
    # model ranks intents at least as well as a TF-IDF classifier would. Needs a lexical part.
    floor: bool = True
    # How the fallback threshold is chosen from held-out utterances of the intents and
    # out-of-domain ones (the bot's own, or hidden intents standing in: `hide_intents`):
    # macro_f1 of in- vs out-of-domain; ood_recall: catch `target_ood_recall` of them;
    # false_fallback_rate: refuse at most `false_fallback_rate` of real requests.
    threshold: Literal["macro_f1", "ood_recall", "false_fallback_rate"] = "macro_f1"
    target_ood_recall: float = Field(0.9, gt=0.0, le=1.0)
    # macro_f1: how common out-of-domain requests are expected to be. A bot's out-of-domain
    # examples are however many its developer collected; they are weighted as this share of
    # traffic, so the threshold does not depend on how many were collected. 0.2: about the share
    # in CLINC150's test set (1,000 of 5,500).
    expected_ood_share: float = Field(0.2, gt=0.0, lt=1.0)
    # Without out-of-domain examples: hide this share of the intents from a first model, and
    # choose the threshold (by `threshold`) between the held-out utterances of the intents it
    # knows and those of the hidden ones, which stand in for out-of-domain requests: what an
    # intent the bot has never seen looks like to it. A second pass then learns every intent.
    # 0 (or fewer than 3 intents): refuse `false_fallback_rate` of held-out utterances instead.
    # Off by default: measured on CLINC150 without its out-of-domain data, 0.2 catches 90 % of
    # out-of-scope requests but refuses 13 % of real ones (0: 53 % and 2 %); on ParaKQC's
    # fine-grained intents it refuses 12.5 % (see docs/intent.md).
    hide_intents: float = Field(0.0, ge=0.0, le=0.5)
    # Share of held-out in-domain utterances allowed to fall back, when nothing else can tell.
    false_fallback_rate: float = Field(0.01, ge=0.0, le=0.5)

    @field_validator("loss")
    @classmethod
    def _registered_loss(cls, name: str) -> str:
        from malmoi import registry
        try:
            return registry.intent_losses.resolve(name)
        except registry.RegistryError as exc:
            raise ValueError(str(exc)) from None


class EntitySettings(_Strict):
    crf: bool = True
    scheme: Literal["BIO", "BIOES"] = "BIOES"  # internal scheme; data may use BIO, BIOES or BILOU
    # Bias every tag by the utterance's sentence vector, so the intent decides between look-alike
    # entity types (SNIPS: movie_name or object_name; slot F1 92.2 -> 94.0). Off by default: it
    # also learns "this intent never has that type" and then drops entities of another intent in
    # a mixed utterance ("내일 부산 냉면 맛집" read as weather loses its RESTAURANT). See
    # docs/entities.md.
    intent_tag_bias: bool = False


class TrainingSettings(_Strict):
    # "auto": as many epochs as make about 1,200 optimizer steps, between 5 and 40: a bot of
    # 300 utterances gets 40 short epochs, one of 20,000 gets 8 long ones (early stopping may
    # end either sooner). The learning rate decays over this many epochs, and never fewer than 30
    # (malmoi.model.training.DECAY_MIN_EPOCHS: decaying within 12 cost SNIPS 1.7 points of slot F1).
    epochs: int | Literal["auto"] = Field("auto", union_mode="left_to_right")
    # Early stopping: epochs without validation improvement, and never fewer than 90 optimizer
    # steps (malmoi.model.training.PATIENCE_MIN_STEPS: tiny bots have a few steps an epoch).
    patience: int = Field(4, ge=1)
    batch_size: int = Field(128, ge=1)
    learning_rate: float = Field(3e-3, gt=0.0)
    validation_split: float = Field(0.1, ge=0.0, lt=0.5)
    # After the held-out share has chosen the epochs and the fallback threshold, train again on
    # every example. "auto": when some intent has fewer than 30 examples, where holding one or
    # two out costs accuracy (ParaKQC, 7 per intent); bigger bots skip the second pass.
    refit: bool | Literal["auto"] = Field("auto", union_mode="left_to_right")
    seed: int = 0


class Settings(_Strict):
    # The body: token vectors for both heads. `cnn` and `bilstm` learn their own from the bot's
    # data; `shared` uses a frozen encoder saved by another model (docs/components.md).
    encoder: SerializeAsAny[ComponentSettings] = Field(default_factory=lambda: _component("encoders", "cnn")({}))
    # Sparse word and character n-grams beside the encoder in the intent head: they carry the
    # exact wording that a small model's vectors blur (ParaKQC 91.3 -> 95.6 %). `none` drops them.
    lexical: SerializeAsAny[ComponentSettings] = Field(default_factory=lambda: _component("lexical", "ngrams")({}))
    intent: IntentSettings = IntentSettings()
    entity: EntitySettings = EntitySettings()
    # Entity extractors beside the tagger (registry.extractors), by type: what they find is merged
    # with the tagger's spans (malmoi.entity.values.merge). A plug-in's: `extractors: [{type: my-finder}]`.
    extractors: list[SerializeAsAny[ComponentSettings]] = []
    training: TrainingSettings = TrainingSettings()

    @model_validator(mode="before")
    @classmethod
    def _encoder_default_lexical(cls, values: Any) -> Any:
        # An encoder may name its own default lexical featurizer (`sentence-transformers`: none).
        if not isinstance(values, dict) or "lexical" in values or values.get("encoder") is None:
            return values
        try:
            encoder = _component("encoders", "cnn")(values["encoder"])
        except ValueError:
            return values  # the field validator reports it
        default = getattr(type(encoder), "default_lexical", None)
        return {**values, "lexical": default} if default else values

    @field_validator("encoder", mode="before")
    @classmethod
    def _encoder(cls, value: Any) -> Any:
        return _component("encoders", "cnn")(value)

    @field_validator("lexical", mode="before")
    @classmethod
    def _lexical(cls, value: Any) -> Any:
        return _component("lexical", "ngrams")(value)

    @field_validator("extractors", mode="before")
    @classmethod
    def _extractors(cls, value: Any) -> Any:
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError(f"expected a list of extractors like [{{type: NAME}}], not {type(value).__name__}")
        return [_component("extractors", "")(item) for item in value]


class SlotSettings(_Strict):
    """One entity a scenario collects. It is asked for only when required and without a default."""

    # A system type (`sys.time`, `sys.number` ...): the slot takes the entity's resolved value,
    # from an entity of its own name that resolved to that kind or from a `sys.<kind>` entity;
    # its `default` is resolved too (DATE: {type: sys.time, default: 오늘}).
    type: str | None = None
    required: bool = True
    default: str | None = Field(None, min_length=1)  # e.g. DATE: 오늘; used when the user never says one
    question: str | None = Field(None, min_length=1)  # None: a generic question naming the entity
    # When this slot is being asked for and the reply holds no entity of its type, take the whole
    # reply as the value: for open-ended values the tagger cannot know (a dish, a small town).
    accept_text: bool = False
    # Offered as quick-reply buttons where a channel has them (KakaoTalk) while this slot is asked
    # for; the user may still type anything else.
    choices: list[str] = Field([], max_length=10)

    @field_validator("type")
    @classmethod
    def _system_type(cls, value: str | None) -> str | None:
        if value is not None and value.removeprefix(SYSTEM_PREFIX) not in SYSTEM_KINDS:
            kinds = ", ".join(SYSTEM_PREFIX + k for k in SYSTEM_KINDS)
            raise ValueError(f"a slot's type is a system entity type: one of {kinds}; got {value!r}")
        if value is not None and not value.startswith(SYSTEM_PREFIX):
            value = SYSTEM_PREFIX + value  # `type: time` means sys.time
        return value

    @property
    def kind(self) -> str | None:
        """The system kind of a typed slot (``"time"`` for ``sys.time``)."""
        return self.type.removeprefix(SYSTEM_PREFIX) if self.type else None


class WebhookSettings(_Strict):
    """Where a scenario's answer comes from. Secrets are never written here: ``bot.yaml`` is
    snapshotted with every published version, so a credential is a reference to an environment
    variable of the server, ``Authorization: "Bearer ${SHOP_TOKEN}"``, resolved when it starts
    (:meth:`resolved`); a literal credential is refused with that fix (:mod:`malmoi.credentials`)."""

    url: str = Field(pattern=r"^https?://[^\s/]+")
    # Seconds. The user waits for the answer while the webhook runs: keep it short, answer with
    # the scenario's failure_answer when it is exceeded.
    timeout: float = Field(3.0, gt=0.0, le=60.0)
    headers: dict[str, str] = {}

    @model_validator(mode="after")
    def _no_literal_secrets(self, info: ValidationInfo) -> WebhookSettings:
        # A model saved before this rule may hold one; it still loads (context {"stored": True}).
        stored = isinstance(info.context, dict) and info.context.get("stored")
        problem = None if stored else literal_secret(self.url, self.headers)
        if problem:
            raise ValueError(problem)
        return self

    def variables(self) -> set[str]:
        """The environment variables the URL and headers refer to."""
        return referenced_variables([self.url, *self.headers.values()])

    def resolved(self, environ: Mapping[str, str]) -> WebhookSettings:
        """This webhook with ``${NAME}`` replaced from ``environ``; ``KeyError`` names a missing variable."""
        return self.model_copy(update={
            "url": substitute(self.url, environ),
            "headers": {name: substitute(value, environ) for name, value in self.headers.items()},
        })


class ScenarioSettings(_Strict):
    """What the bot does for one intent: collect entities, then answer (see docs/dialogue.md)."""

    entities: dict[str, SlotSettings] = {}
    # Template: {LOCATION} is the slot's value; {key} also takes values returned by the action.
    answer: str | None = Field(None, min_length=1)
    webhook: WebhookSettings | None = None  # JSON POST of the slots; its reply fills the answer
    failure_answer: str = Field(
        "죄송해요, 지금은 답을 가져오지 못했어요. 잠시 후에 다시 물어봐 주세요.", min_length=1
    )

    @field_validator("entities")
    @classmethod
    def _entity_names(cls, entities: dict[str, SlotSettings]) -> dict[str, SlotSettings]:
        bad = [name for name in entities if not is_entity_type(name)]
        if bad:
            raise ValueError(f"entity types are letters, digits and `_` (like LOCATION), not {bad}")
        return entities

    @field_validator("answer", "failure_answer")
    @classmethod
    def _template(cls, template: str | None) -> str | None:
        if template is not None:
            template_formats(template)  # raises ValueError naming the problem
        return template

    @model_validator(mode="after")
    def _answer_fields_are_entities(self) -> ScenarioSettings:
        # With a webhook, other {keys} come from its reply; Python actions are checked when attached.
        formats = template_formats(self.answer) if self.answer is not None else []
        if self.answer is not None and self.webhook is None:
            unknown = [name for name, _ in formats if name not in self.entities]
            if unknown:
                raise ValueError(
                    f"the answer uses {{{unknown[0]}}}, which is not one of this scenario's entities "
                    f"({', '.join(self.entities) or 'none'}); declare it under `entities:`"
                )
        for name, spec in formats:
            slot = self.entities.get(name)
            if not spec or slot is None or slot.kind is None or ("%" in spec) == (slot.kind == "time"):
                continue
            example = f"{{{name}:%m월 %d일}}" if slot.kind == "time" else f"{{{name}:,}}"
            raise ValueError(f"the answer formats {{{name}:{spec}}}, which does not fit a {slot.type} slot; "
                             f"write a {'time' if slot.kind == 'time' else 'number'} format like {example}")
        return self


class DialogueSettings(_Strict):
    """How the bot talks beyond scenarios: fallbacks, fixed answers, cancelling, expiry."""

    # Said in turn when the parser falls back or an intent has neither scenario nor answer.
    fallback_answers: list[str] = Field(
        ["죄송해요, 무슨 말씀인지 잘 모르겠어요. 다르게 말씀해 주시겠어요?"], min_length=1
    )
    answers: dict[str, str] = {}  # fixed answers for intents without a scenario, e.g. greeting
    # A message that is exactly one of these (ignoring spaces and . ! ?) drops the conversation.
    cancel_words: list[str] = ["취소", "취소해줘", "취소할래", "그만", "그만할래", "됐어", "됐어요", "아니야 됐어"]
    cancel_answer: str = Field("알겠어요, 하던 이야기는 취소했어요.", min_length=1)
    # While a scenario waits for an entity, a message of another intent changes the topic only
    # with this confidence: classifiers guess wildly on one-word replies like "국밥".
    topic_change_confidence: float = Field(0.9, ge=0.0, le=1.0)
    # Seconds without a message after which a half-filled conversation is forgotten: a user who
    # comes back tomorrow should not have "부산" taken as the city of yesterday's question.
    idle_timeout: float = Field(600.0, gt=0.0)


class EntityDeclaration(_Strict):
    """One entity type in the mapping form of ``entities:``; ``LOCATION:`` alone just declares it."""

    # A regular expression (Python's syntax; run by the `regex` package with a time limit): the
    # type is found by it, without examples. Its group named `value`, if any, is the value.
    pattern: str | None = Field(None, min_length=1)
    # The type's dictionary (data/entities/<TYPE>.csv) also matches a value of four or more
    # characters written with one typo, when only one value is that near.
    typos: bool = False


class BotConfig(_Strict):
    name: str = Field("bot", min_length=1, max_length=100)
    language: str = Field("ko", min_length=2, max_length=8)  # "ko" uses the Korean analyser
    description: str = ""
    min_examples_per_intent: int = Field(5, ge=1)
    # Declared entity types. None: any type goes, and a rare type spelled like a common one is
    # reported as a likely typo; declared (a list `[LOCATION, DATE]`, or a mapping that also says
    # how a type is found: `ORDER_ID: {pattern: ...}`): a type not declared is an error, and
    # nothing is guessed. Stored as the mapping.
    entities: dict[str, EntityDeclaration] | None = None
    # System entities found and resolved without examples (malmoi.entity.values): any of
    # time, number, money, duration, ordinal, phone, email, url. Reported as `sys.<kind>`.
    system_entities: list[SystemKind] = []
    # The bot's time zone (IANA name): "내일" is tomorrow there, and times carry its UTC offset.
    timezone: str = "Asia/Seoul"
    # Dictionaries, TYPE → {synonym's match key: canonical value}: read from
    # data/entities/<TYPE>.csv|.yml by the data loader (training reads no files), kept by the
    # trained model's dictionary part and not stored again with these settings.
    dictionaries: dict[str, dict[str, str]] = Field(default_factory=dict, exclude=True)
    settings: Settings = Settings()
    # Intent name → scenario. Intents without one get dialogue.answers or a fallback answer.
    scenarios: dict[str, ScenarioSettings] = {}
    dialogue: DialogueSettings = DialogueSettings()

    def with_dialogue_of(self, other: BotConfig) -> BotConfig:
        """This configuration (what the model learned with) answering with ``other``'s dialogue
        (:data:`DIALOGUE_FIELDS`): how a server uses a bot directory's ``bot.yaml`` with a model."""
        return self.model_copy(update={name: getattr(other, name) for name in DIALOGUE_FIELDS})

    @field_validator("entities", mode="before")
    @classmethod
    def _entity_mapping(cls, value: Any) -> Any:
        if isinstance(value, list):  # the list form: names only
            bad = [item for item in value if not isinstance(item, str)]
            if bad:
                raise ValueError(f"entity types are names like LOCATION, not {bad[0]!r}")
            return {name: {} for name in value}
        if isinstance(value, dict):  # `LOCATION:` with nothing after it
            return {name: {} if declared is None else declared for name, declared in value.items()}
        if value is not None:
            raise ValueError(f"expected a list of entity types like [LOCATION, DATE], or a mapping like "
                             f"{{ORDER_ID: {{pattern: ...}}}}; got {type(value).__name__}")
        return value

    @field_validator("system_entities")
    @classmethod
    def _once_each(cls, kinds: list[str]) -> list[str]:
        return list(dict.fromkeys(kinds))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}; write an IANA name like Asia/Seoul or UTC") from None
        return name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def patterns(self) -> dict[str, str]:
        """``{TYPE: pattern}`` of the types declared with a pattern."""
        return {name: d.pattern for name, d in (self.entities or {}).items() if d.pattern is not None}
