"""A bot's model: its fitted parts, the labels they predict, and how to parse, save and load.

    >>> model = Model(config).fit(examples, ood)            # doctest: +SKIP
    >>> model.parse("내일 서울 날씨 알려줘").intent.name        # doctest: +SKIP
    'weather'
    >>> model.intent_scores(["내일 서울 날씨"]).shape          # doctest: +SKIP
    (1, 4)

A model is a set of named parts (:mod:`malmoi.parts`), each registered by type in the registry of
its kind: ``analyzer`` (text → :class:`~malmoi.text.Doc`), ``encoder`` (token vectors, shared
between bots on one encoder), ``lexical`` (TF-IDF n-grams), ``intent`` (sentence vectors and
intent scores), ``floor`` (the linear floor on the n-grams, blended with ``intent``),
``fallback`` (the threshold), ``entity`` (the CRF tagger) and ``extractor.<type>``
parts (entities found without the tagger). Parsing runs without torch: training
(:mod:`malmoi.model.training`) exports into exactly these parts, so a model parses the same
before and after a reload.

Artifact (see :mod:`malmoi.artifact`)::

    MODEL_DIR/model.json            settings, labels, every part's record (type, settings, state, weights file), report
    MODEL_DIR/<part>.safetensors    each part's own arrays (intent, entity, lexical, ...)
    MODEL_DIR/encoder/              the encoder, unless the bot uses a shared one (then: its hash and path)
    MODEL_DIR/manifest.json         the SHA-256 of every file (malmoi.outputs)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import ValidationError

from malmoi import registry
from malmoi._version import __version__
from malmoi.artifact import (
    ENCODER_DIR,
    MODEL_FILE,
    ModelMeta,
    PartRecord,
    json_bytes,
    read_model_meta,
    weights_file,
    write_directory,
)
from malmoi.entity.values.merge import merge
from malmoi.errors import ModelLoadError
from malmoi.intent.fallback import Fallback, calibrate
from malmoi.intent.scoring import sentence_vectors
from malmoi.model.result import FALLBACK, EntitySpan, IntentScore, ParseResult
from malmoi.outputs import verify_manifest
from malmoi.parts import Extractor, Found, LoadContext, Part
from malmoi.settings import STORED, BotConfig, Settings
from malmoi.text import tags_to_entities
from malmoi.text.doc import Analyzer, Doc

if TYPE_CHECKING:
    from malmoi.data.schema import BotData, Example
    from malmoi.encode.runtime import EncoderRuntime
    from malmoi.entity.tagger import EntityTagger
    from malmoi.featurize.lexical import LexicalFeaturizer
    from malmoi.intent.linear import LinearFloor
    from malmoi.intent.scoring import IntentScorer, IntentScores

__all__ = ["FORMAT_VERSION", "Model", "NotFittedError", "load", "load_part", "save_part", "train"]

# 5: a record per part, each part's arrays in a file of its own, a manifest over every file.
# 4 (one weights file, fixed components) is read and converted (malmoi.artifact.read_model_meta).
FORMAT_VERSION = 5


class NotFittedError(RuntimeError):
    """``parse`` or ``save`` before ``fit``."""


class Model:
    """Parses utterances into an intent, a fallback decision and entities.

    Build one with ``malmoi.train(BOT_DIR)``, ``Model(config).fit(examples, ood)`` or
    ``malmoi.load(MODEL_DIR)``.

    Attributes (set by ``fit`` or ``load``):
        intents: intent names, in the order of the score columns.
        tags: entity tags of the tagger (``"O"`` first).
        parts: the fitted parts by name (``model.parts["intent"]``).
        report: how training went (validation figures, calibration, timings).
    """

    def __init__(self, config: BotConfig | None = None):
        self.config = config if config is not None else BotConfig()
        self.intents: list[str] = []
        self.tags: list[str] = ["O"]
        self.report: dict[str, Any] = {}
        self.parts: dict[str, Part] = {"analyzer": Analyzer(self.config.language)}
        # kind (registry) and registered type of each part, as saved in model.json
        self.part_types: dict[str, tuple[str, str]] = {"analyzer": ("analyzers", "analyzer.v1")}
        # Whether the model keeps its encoder's files in its own encoder/ folder (else: a reference).
        self.encoder_bundled = True

    @property
    def settings(self) -> Settings:
        return self.config.settings

    # -- the parts, by role --------------------------------------------------------------------

    @property
    def analyzer(self) -> Analyzer:
        analyzer = self.parts["analyzer"]
        assert isinstance(analyzer, Analyzer)
        return analyzer

    @property
    def encoder(self) -> EncoderRuntime | None:
        return self.parts.get("encoder")  # type: ignore[return-value]

    @property
    def lexical(self) -> LexicalFeaturizer | None:
        return self.parts.get("lexical")  # type: ignore[return-value]

    @property
    def scorer(self) -> IntentScorer | None:
        return self.parts.get("intent")  # type: ignore[return-value]

    @property
    def floor(self) -> LinearFloor | None:
        """The linear floor blended with the neural intent head (None: ``intent: {floor: false}``)."""
        from malmoi.intent.linear import LinearFloor

        found = self.parts.get("floor")
        return found if isinstance(found, LinearFloor) else None

    @property
    def tagger(self) -> EntityTagger | None:
        return self.parts.get("entity")  # type: ignore[return-value]

    @property
    def fallback(self) -> Fallback | None:
        found = self.parts.get("fallback")
        return found if isinstance(found, Fallback) else None

    @property
    def extractors(self) -> list[Extractor]:
        return [part for part in self.parts.values() if isinstance(part, Extractor)]

    @property
    def threshold(self) -> float:
        """In-domain scores below it fall back (the fallback part's threshold)."""
        return self.fallback.threshold if self.fallback is not None else 0.0

    @property
    def entity_types(self) -> list[str]:
        """Every entity type the model can find: the tagger's and the extractors'."""
        found = {t.split("-", 1)[1] for t in self.tags if "-" in t}
        for extractor in self.extractors:
            found.update(extractor.entity_types())
        return sorted(found)

    @property
    def is_fitted(self) -> bool:
        return self.scorer is not None and self.encoder is not None

    def _require_fitted(self) -> tuple[EncoderRuntime, IntentScorer]:
        encoder, scorer = self.encoder, self.scorer
        if encoder is None or scorer is None:
            raise NotFittedError("this model is not trained yet: call fit(examples) or load a saved model")
        return encoder, scorer

    def set_parts(self, parts: dict[str, tuple[str, str, Part]], *, intents: list[str], tags: list[str],
                  encoder_bundled: bool) -> None:
        """Adopt fitted parts ``name → (kind, type, part)`` (what training and loading make)."""
        self.parts = {"analyzer": self.parts["analyzer"], **{name: part for name, (_, _, part) in parts.items()}}
        self.part_types = {"analyzer": self.part_types["analyzer"],
                           **{name: (kind, type_) for name, (kind, type_, _) in parts.items()}}
        self.intents, self.tags, self.encoder_bundled = list(intents), list(tags), encoder_bundled
        self._check_parts()

    # -- training ----------------------------------------------------------------------------

    def fit(
        self,
        examples: Sequence[Example],
        ood: Sequence[Example] = (),
        *,
        random_state: int | None = None,
        progress: bool = False,
        on_epoch: Callable[[str, dict[str, float]], None] | None = None,
    ) -> Model:
        """Learn from labelled examples (and out-of-domain ones); returns ``self``.

        Reads no files and sets no global seed: ``random_state`` (default: the bot's
        ``settings.training.seed``) seeds a generator of this call alone, so cross-validation
        and label-cleaning loops can call it many times. Raises ``ValueError`` for data that
        cannot be learned (no examples, an intent without examples). ``on_epoch(pass, figures)``
        is called after every epoch: pass ``"fit"`` (or ``"refit"``, the second pass on all data),
        figures as in ``report["history"]``.
        """
        from malmoi.data.overlap import REPORT_KEY, training_record
        from malmoi.model.training import fit

        fitted = fit(self.config, examples, ood, random_state=random_state, progress=progress, on_epoch=on_epoch)
        self.set_parts(fitted.parts, intents=fitted.intents, tags=fitted.tags, encoder_bundled=fitted.encoder_bundled)
        # What it trained on, as hashes: `malmoi test` says when test data is training data.
        self.report = {**fitted.report, REPORT_KEY: training_record(e.text for e in (*examples, *ood))}
        return self

    def calibrate(self, texts: Sequence[str], ood_texts: Sequence[str] = (), *, batch_size: int = 256) -> float:
        """Choose the fallback threshold again, on held-out utterances the model never trained on.

        ``texts`` are in-domain, ``ood_texts`` out of domain; the criterion is the bot's
        ``settings.intent.threshold`` (without ``ood_texts``: its ``false_fallback_rate``).
        Returns the new threshold, which ``save`` then stores.

        >>> model.calibrate(validation_texts, out_of_scope_texts)  # doctest: +SKIP
        0.41
        """
        if not texts:
            raise ValueError("calibrate needs held-out in-domain utterances")
        fallback = calibrate(
            self.settings.intent,
            self.in_domain_scores(texts, batch_size=batch_size),
            self.in_domain_scores(ood_texts, batch_size=batch_size) if ood_texts else None,
            source="Model.calibrate", score=self.floor.in_domain if self.floor is not None else "neural",
        )
        self.parts["fallback"] = fallback
        self.part_types["fallback"] = ("fallbacks", "fallback.v1")
        self.report["calibration"] = fallback.state()
        return fallback.threshold

    # -- parsing -----------------------------------------------------------------------------

    def analyze(self, texts: Sequence[str]) -> list[Doc]:
        return self.analyzer.many(texts)

    def parse(self, text: str, *, now: datetime | None = None) -> ParseResult:
        """Parse one utterance (``now``: the reference time of relative expressions; default the clock).

        >>> model.parse("내일 서울 날씨 알려줘").intent.name  # doctest: +SKIP
        'weather'
        """
        return self.parse_docs([self.analyzer(text)], now=now)[0]

    def parse_batch(self, texts: Sequence[str], *, now: datetime | None = None) -> list[ParseResult]:
        return self.parse_docs(self.analyze(texts), now=now)

    def parse_with_scores(self, texts: Sequence[str], *, now: datetime | None = None
                          ) -> tuple[list[ParseResult], np.ndarray]:
        """Parse results plus each utterance's in-domain score (fallback when below ``threshold``)."""
        results = self.parse_batch(texts, now=now)
        return results, np.array([r.in_domain_score for r in results], dtype=np.float64)

    def intent_scores(self, texts: Sequence[str], *, batch_size: int = 256) -> np.ndarray:
        """``(len(texts), len(intents))`` probabilities over intents, columns in ``intents`` order."""
        self._require_fitted()
        parts = [self.scores(self.analyze(texts[i : i + batch_size]))[2].probabilities
                 for i in range(0, len(texts), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.intents)))

    def in_domain_scores(self, texts: Sequence[str], *, batch_size: int = 256) -> np.ndarray:
        """``(len(texts),)`` in-domain scores (what the fallback threshold applies to)."""
        return self.in_domain_scores_of(
            [doc for i in range(0, len(texts), batch_size) for doc in self.analyze(texts[i : i + batch_size])]
        )

    def in_domain_scores_of(self, docs: Sequence[Doc], *, batch_size: int = 256) -> np.ndarray:
        """In-domain scores of analysed utterances, scored exactly as parsing scores them."""
        self._require_fitted()
        parts = [self.scores(docs[i : i + batch_size])[2].in_domain for i in range(0, len(docs), batch_size)]
        return np.concatenate(parts).astype(np.float64) if parts else np.zeros(0)

    def sentences(self, docs: Sequence[Doc]) -> tuple[list[np.ndarray], np.ndarray]:
        """Token vectors of each utterance, and the ``(len(docs), dim)`` sentence vectors of the intent head."""
        encoder, scorer = self._require_fitted()
        return sentence_vectors(encoder, self.lexical, scorer, docs)

    def scores(self, docs: Sequence[Doc]) -> tuple[list[np.ndarray], np.ndarray, IntentScores]:
        """Token vectors, sentence vectors and the intent scores of analysed utterances: the neural
        head's, blended with the linear floor's when the model has one."""
        encoder, scorer = self._require_fitted()
        lexical, floor = self.lexical, self.floor
        features = [lexical.transform(d) for d in docs] if lexical is not None else None
        vectors, sentences = sentence_vectors(encoder, lexical, scorer, docs, features)
        scores = scorer.scores(sentences)
        if floor is not None and features is not None:
            scores = floor.blended(scores, features)
        return vectors, sentences, scores

    def parse_docs(self, docs: Sequence[Doc], *, now: datetime | None = None) -> list[ParseResult]:
        """Parse analysed utterances; each result keeps its :class:`Doc` (``result.doc``)."""
        if not docs:
            return []
        vectors, sentences, scores = self.scores(docs)
        fallback = self.fallback
        extractors = self.extractors
        when = self.reference_time(now) if extractors else None
        value_types = {k: v for e in extractors for k, v in e.value_types().items()}
        results = []
        for i, doc in enumerate(docs):
            probabilities = scores.probabilities[i]
            in_domain = float(scores.in_domain[i])
            falls_back = fallback is not None and fallback.falls_back(in_domain, doc.has_word)
            nearest = int(scores.predicted[i])
            order = [nearest, *(j for j in np.argsort(-probabilities, kind="stable").tolist() if j != nearest)]
            ranking = [
                IntentScore.model_construct(name=self.intents[j], confidence=float(probabilities[j])) for j in order
            ]
            top = (
                IntentScore.model_construct(name=FALLBACK, confidence=ranking[0].confidence)
                if falls_back
                else ranking[0]
            )
            found = self._tagged(doc, vectors[i], sentences[i])
            if extractors:
                assert when is not None
                found = merge(doc.normalized, [*found, *(f for e in extractors for f in e.extract(doc, now=when))],
                              canonical=self._canonical, value_types=value_types)
            result = ParseResult.model_construct(
                text=doc.text, intent=top, intent_ranking=ranking, fallback=falls_back,
                entities=[self._span(doc, f) for f in found],
            )
            doc.vectors["tokens"], doc.vectors["sentence"] = vectors[i], sentences[i]
            result.attach(doc, in_domain)
            results.append(result)
        return results

    def _tagged(self, doc: Doc, tokens: np.ndarray, sentence: np.ndarray) -> list[Found]:
        tagger = self.tagger
        if tagger is None or not doc.tokens:
            return []
        path = tagger.decode(tagger.emissions(tokens[: len(doc.tokens)], sentence))
        return [Found(ent.type, ent.start, ent.end, source="crf")
                for ent in tags_to_entities(doc.tokens, [self.tags[t] for t in path], doc.normalized)]

    def _canonical(self, entity: str, text: str) -> Any:
        """What a tagger's entity resolves to by an extractor's knowledge (a dictionary's synonyms)."""
        for extractor in self.extractors:
            value = extractor.canonical(entity, text)
            if value is not None:
                return value
        return None

    def reference_time(self, now: datetime | None = None) -> datetime:
        """The time "내일" is relative to: ``now`` (naive: in the bot's time zone), else the clock there."""
        zone = self.config.zone
        if now is None:
            return datetime.now(zone)
        return now.replace(tzinfo=zone) if now.tzinfo is None else now

    @staticmethod
    def _span(doc: Doc, found: Found) -> EntitySpan:
        start, end = doc.to_original(found.start, found.end)
        return EntitySpan.model_construct(entity=found.type, value=doc.text[start:end], start=start, end=end,
                                          resolved=found.resolved, grain=found.grain)

    # -- persistence -------------------------------------------------------------------------

    def files(self, *, encoder_path: str | None = None) -> dict[str, bytes]:
        """Every file of the saved model, by relative path (the manifest is added by ``save``).

        ``encoder_path``: where a referenced (not bundled) encoder is to be found, recorded instead
        of where it was found (a registry stores it relative to the version).
        """
        self._require_fitted()
        files: dict[str, bytes] = {}
        records: dict[str, PartRecord] = {}
        for name, part in self.parts.items():
            kind, type_ = self.part_types[name]
            records[name], own = save_part(name, kind, type_, part, self._part_settings(name),
                                           bundled=self.encoder_bundled, encoder_path=encoder_path)
            files.update(own)
        meta = ModelMeta(
            format="malmoi-model",
            format_version=FORMAT_VERSION,
            malmoi_version=__version__,
            config=self.config.model_dump(mode="json"),
            intents=self.intents,
            tags=self.tags,
            parts=records,
            report=self.report,
        )
        files[MODEL_FILE] = json_bytes(meta.model_dump(mode="json"))
        return files

    def _part_settings(self, name: str) -> dict[str, Any]:
        """The settings a part was built from: its section of the bot's settings."""
        part = self.parts[name]
        if name == "encoder":  # what bot.yaml chose (`shared` and its path), not the encoder's own settings
            return self.settings.encoder.model_dump(mode="json")
        if name == "analyzer":
            return {"type": "analyzer.v1", "language": self.config.language}
        settings = getattr(part, "settings", None)
        return settings.model_dump(mode="json") if settings is not None else {}

    def save(self, model_dir: str | Path, *, encoder_path: str | None = None) -> Path:
        """Write the model directory atomically (a crash leaves the old one, never half a new one)."""
        return write_directory(model_dir, self.files(encoder_path=encoder_path))

    @classmethod
    def load(cls, model_dir: str | Path, *, encoder_dirs: Sequence[str | Path] = ()) -> Model:
        """Read a saved model; ``encoder_dirs``: folders holding referenced encoders by hash or name."""
        model_dir = Path(model_dir)
        found_in = tuple(Path(d) for d in encoder_dirs)
        meta, arrays_of = read_model_meta(model_dir, FORMAT_VERSION)
        try:
            config = BotConfig.model_validate(meta.config, context=STORED)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise ModelLoadError(
                f"{model_dir / MODEL_FILE}: `config.{field}` {first['msg'].lower()}; train the model again"
            ) from None
        model = cls(config)
        model.report = meta.report
        parts: dict[str, tuple[str, str, Part]] = {}
        for name, record in meta.parts.items():
            if name == "analyzer":
                continue  # made from the config's language
            context = LoadContext(model_dir, name, found_in)
            parts[name] = (record.kind, record.type, load_part(context, record, arrays_of(name, record)))
        bundled = bool(meta.parts["encoder"].state.get("bundled", True)) if "encoder" in meta.parts else True
        try:
            model.set_parts(parts, intents=meta.intents, tags=meta.tags, encoder_bundled=bundled)
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise ModelLoadError(
                f"{model_dir}: the weights do not fit the model description ({exc}); train it again"
            ) from None
        # The manifest covers model.json itself (its weights are covered by model.json's checksums):
        # an edit that keeps the schema, such as a reordered intent list, is refused here, after
        # the checks above have named any damage they can name more precisely.
        edited = verify_manifest(model_dir, [MODEL_FILE])
        if edited:
            raise ModelLoadError(edited)
        return model

    def _check_parts(self) -> None:
        """The parts fit one another: as many centres as intents, input sizes that match."""
        encoder, scorer = self.encoder, self.scorer
        if encoder is None or scorer is None:
            raise ValueError("a model needs an encoder and an intent part")
        if scorer.num_intents != len(self.intents):
            raise ValueError(f"{scorer.num_intents} intent centres for {len(self.intents)} intents")
        if scorer.project_weight.shape[1] != 2 * encoder.output_dim:
            raise ValueError(
                f"the intent head reads vectors of {scorer.project_weight.shape[1] // 2}, "
                f"the encoder gives {encoder.output_dim}"
            )
        lexical_rows = 0 if scorer.lexical is None else len(scorer.lexical)
        lexical_size = self.lexical.size if self.lexical is not None else 0
        if lexical_rows != lexical_size:
            raise ValueError(f"{lexical_rows} lexical rows for {lexical_size} n-grams")
        floor = self.floor
        if floor is not None and (floor.num_intents != len(self.intents) or floor.rows != lexical_size):
            raise ValueError(f"the linear floor has {floor.num_intents} intents and {floor.rows} n-gram rows, "
                             f"for {len(self.intents)} intents and {lexical_size} n-grams")
        tagger = self.tagger
        if tagger is not None and tagger.num_tags != len(self.tags):
            raise ValueError(f"the entity tagger has {tagger.num_tags} tags for {len(self.tags)}")

    @property
    def nbytes(self) -> int:
        """Bytes of arrays this bot holds on its own (a shared encoder is not counted)."""
        own = sum(part.nbytes for name, part in self.parts.items() if name != "encoder")
        if self.encoder is not None and self.encoder_bundled:
            own += self.encoder.nbytes
        return int(own)


def save_part(name: str, kind: str, type_: str, part: Part, settings: dict[str, Any], *, bundled: bool = True,
              encoder_path: str | None = None) -> tuple[PartRecord, dict[str, bytes]]:
    """A part's record for ``model.json`` and its files: its arrays as ``<name>.safetensors``, and an
    encoder's own folder (``encoder/``) when the model keeps it (``bundled``).

    Where an encoder lives is the model's choice, not the encoder's: its state is the reference
    the model records (``encoder_path``: a referenced encoder's recorded folder, instead of where it
    was found).
    """
    from malmoi.encode.runtime import EncoderRuntime

    files: dict[str, bytes] = {}
    state = part.state()
    if isinstance(part, EncoderRuntime):
        reference = part.reference(bundled)
        if encoder_path is not None and not bundled:
            reference = reference.model_copy(update={"path": encoder_path})
        state = reference.model_dump()
        if bundled:
            files.update({f"{ENCODER_DIR}/{file}": data for file, data in part.files().items()})
    arrays = part.arrays()
    weights = None
    if arrays:
        data, weights = weights_file(arrays, f"{name}.safetensors")
        files[weights.file] = data
    return PartRecord(kind=kind, type=type_, settings=settings, state=state, weights=weights), files


def load_part(context: LoadContext, record: PartRecord, arrays: dict[str, np.ndarray]) -> Part:
    """One part of a saved model: its type looked up in its kind's registry, then its own ``load``."""
    model_dir, name = context.folder, context.name
    kinds = {r.kind: r for r in registry.all_registries()}
    found = getattr(registry, record.kind, None)
    if not isinstance(found, registry.PartRegistry) or found.kind not in kinds:
        raise ModelLoadError(f"{model_dir / MODEL_FILE}: part {name!r} has the unknown kind {record.kind!r}; "
                             "train the model again")
    try:
        entry = found.get(record.type)
        settings = entry.validate(record.settings)
    except registry.RegistryError as exc:
        raise ModelLoadError(f"{model_dir}: part {name!r}: {exc}") from None
    except ValidationError as exc:
        raise ModelLoadError(f"{model_dir / MODEL_FILE}: the settings of part {name!r} do not validate "
                             f"({exc.errors()[0]['msg']}); train the model again") from None
    try:
        part: Part = entry.part_class.load(settings, record.state, arrays, context)
    except ModelLoadError:
        raise
    except ValidationError as exc:  # a part's saved state checked by pydantic: its first fault, on one line
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "its state"
        raise ModelLoadError(
            f"{model_dir / MODEL_FILE}: the saved state of part {name!r} is damaged (`{field}`: "
            f"{first['msg'].lower()}); train the model again"
        ) from None
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise ModelLoadError(
            f"{model_dir}: the part {name!r} does not fit its saved state ({_first_line(exc)}); train the model again"
        ) from None
    return part


def _first_line(exc: BaseException) -> str:
    """An exception's message cut to its first line: errors print as one line."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def load(model_dir: str | Path) -> Model:
    """Load a trained model directory: ``malmoi.load("models/demo").parse("안녕")``."""
    return Model.load(model_dir)


def train(
    bot: str | Path | tuple[BotConfig, BotData],
    *,
    progress: bool = True,
    skip_invalid: bool = False,
    on_epoch: Callable[[str, dict[str, float]], None] | None = None,
) -> Model:
    """Train a model from a bot directory (or an already loaded ``(config, data)`` pair).

    Raises ``malmoi.data.DataError`` listing every problem when the data is invalid; with
    ``skip_invalid``, utterances with errors of their own are left out instead (listed in
    ``load_bot``'s ``data.left_out``).
    """
    from malmoi.data import load_bot

    config, data = load_bot(bot, skip_invalid=skip_invalid) if isinstance(bot, (str, Path)) else bot
    return Model(config).fit(data.examples, data.ood, progress=progress, on_epoch=on_epoch)
