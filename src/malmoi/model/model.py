"""A bot's model: fit it on examples, parse utterances, save it, load it.

    >>> model = Model(config).fit(examples, ood)            # doctest: +SKIP
    >>> model.parse("내일 서울 날씨 알려줘").intent.name        # doctest: +SKIP
    'weather'
    >>> model.intent_scores(["내일 서울 날씨"]).shape          # doctest: +SKIP
    (1, 4)

Parsing runs without torch: the analyser makes a :class:`~malmoi.text.Doc`, the encoder's numpy
twin gives token vectors (:mod:`malmoi.encode.runtime`, shared between bots on one encoder), and
the heads' twins score intents (:class:`~malmoi.intent.scoring.IntentScorer`) and decode entity
tags (:class:`~malmoi.entity.tagger.EntityTagger`). Training (:mod:`malmoi.model.training`)
exports into exactly these objects, so a model parses the same before and after a reload.

Artifact (see :mod:`malmoi.artifact`)::

    MODEL_DIR/model.json           settings, labels, component states, threshold, report, checksums
    MODEL_DIR/weights.safetensors  the heads and the lexical table of this bot
    MODEL_DIR/encoder/             the encoder, unless the bot uses a shared one (then: its hash)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import ValidationError

from malmoi._version import __version__
from malmoi.artifact import (
    ENCODER_DIR,
    MODEL_FILE,
    WEIGHTS_FILE,
    ComponentMeta,
    EncoderRef,
    ModelMeta,
    json_bytes,
    read_json,
    read_weights,
    subset,
    validate,
    weights_file,
    write_directory,
)
from malmoi.encode.runtime import EncoderRuntime, load_encoder
from malmoi.entity.tagger import EntityTagger
from malmoi.errors import ModelLoadError
from malmoi.intent.scoring import IntentScorer
from malmoi.model.result import FALLBACK, EntitySpan, IntentScore, ParseResult
from malmoi.outputs import verify_manifest
from malmoi.settings import STORED, BotConfig, Settings
from malmoi.text import tags_to_entities
from malmoi.text.doc import Analyzer, Doc

if TYPE_CHECKING:
    from malmoi.data.schema import Example
    from malmoi.featurize.lexical import LexicalFeaturizer

__all__ = ["FORMAT_VERSION", "Model", "load"]

# 4: components (encoder artifact of its own, hashed features, lexical n-grams, checksums)
FORMAT_VERSION = 4
# Where a shared encoder is looked for when its recorded path does not exist (os.pathsep-separated).
ENCODER_PATH_VARIABLE = "MALMOI_ENCODER_PATH"


class NotFittedError(RuntimeError):
    """``parse`` or ``save`` before ``fit``."""


class Model:
    """Parses utterances into an intent, a fallback decision and entities.

    Build one with ``malmoi.train(BOT_DIR)``, ``Model(config).fit(examples, ood)`` or
    ``malmoi.load(MODEL_DIR)``.

    Attributes (set by ``fit`` or ``load``):
        intents: intent names, in the order of the score columns.
        tags: entity tags (``"O"`` first).
        threshold: in-domain scores below it fall back.
        report: how training went (validation figures, calibration, timings).
    """

    def __init__(self, config: BotConfig | None = None):
        self.config = config if config is not None else BotConfig()
        self.intents: list[str] = []
        self.tags: list[str] = ["O"]
        self.threshold = 0.0
        self.report: dict[str, Any] = {}
        self.encoder: EncoderRuntime | None = None
        self.encoder_bundled = True
        self.lexical: LexicalFeaturizer | None = None
        self.scorer: IntentScorer | None = None
        self.tagger: EntityTagger | None = None
        self._head_arrays: dict[str, np.ndarray] = {}
        self._component_states: dict[str, dict[str, Any]] = {}
        self.analyzer = Analyzer(self.config.language)

    @property
    def settings(self) -> Settings:
        return self.config.settings

    @property
    def is_fitted(self) -> bool:
        return self.scorer is not None and self.encoder is not None

    def _require_fitted(self) -> tuple[EncoderRuntime, IntentScorer]:
        if self.encoder is None or self.scorer is None:
            raise NotFittedError("this model is not trained yet: call fit(examples) or load a saved model")
        return self.encoder, self.scorer

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
        from malmoi.model.training import fit

        fit(self, examples, ood, random_state=random_state, progress=progress, on_epoch=on_epoch)
        return self

    def calibrate(self, texts: Sequence[str], ood_texts: Sequence[str] = (), *, batch_size: int = 256) -> float:
        """Choose the fallback threshold again, on held-out utterances the model never trained on.

        ``texts`` are in-domain, ``ood_texts`` out of domain; the criterion is the bot's
        ``settings.intent.threshold`` (without ``ood_texts``: its ``false_fallback_rate``).
        Returns the new threshold, which ``save`` then stores.

        >>> model.calibrate(validation_texts, out_of_scope_texts)  # doctest: +SKIP
        0.41
        """
        from malmoi.intent.fallback import choose_threshold

        if not texts:
            raise ValueError("calibrate needs held-out in-domain utterances")
        intent = self.settings.intent
        threshold, method = choose_threshold(
            self.in_domain_scores(texts, batch_size=batch_size),
            self.in_domain_scores(ood_texts, batch_size=batch_size) if ood_texts else None,
            criterion=intent.threshold,
            target_ood_recall=intent.target_ood_recall,
            false_fallback_rate=intent.false_fallback_rate,
            ood_share=intent.expected_ood_share,
        )
        self.threshold = threshold
        self.report["calibration"] = {
            "method": method,
            "threshold": threshold,
            "held_out_in_domain": len(texts),
            "held_out_ood": len(ood_texts),
            "source": "Model.calibrate",
        }
        return threshold

    # -- parsing -----------------------------------------------------------------------------

    def analyze(self, texts: Sequence[str]) -> list[Doc]:
        return [self.analyzer(t) for t in texts]

    def parse(self, text: str) -> ParseResult:
        """Parse one utterance.

        >>> model.parse("내일 서울 날씨 알려줘").intent.name  # doctest: +SKIP
        'weather'
        """
        return self.parse_docs([self.analyzer(text)])[0]

    def parse_batch(self, texts: Sequence[str]) -> list[ParseResult]:
        return self.parse_docs(self.analyze(texts))

    def parse_with_scores(self, texts: Sequence[str]) -> tuple[list[ParseResult], np.ndarray]:
        """Parse results plus each utterance's in-domain score (fallback when below ``threshold``)."""
        results = self.parse_batch(texts)
        return results, np.array([r.in_domain_score for r in results], dtype=np.float64)

    def intent_scores(self, texts: Sequence[str], *, batch_size: int = 256) -> np.ndarray:
        """``(len(texts), len(intents))`` probabilities over intents, columns in ``intents`` order."""
        _, scorer = self._require_fitted()
        parts = [
            scorer.scores(self._sentences(self.analyze(texts[i : i + batch_size]))[1]).probabilities
            for i in range(0, len(texts), batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.intents)))

    def in_domain_scores(self, texts: Sequence[str], *, batch_size: int = 256) -> np.ndarray:
        """``(len(texts),)`` in-domain scores (nearness to the nearest intent's centre)."""
        _, scorer = self._require_fitted()
        parts = [
            scorer.scores(self._sentences(self.analyze(texts[i : i + batch_size]))[1]).in_domain
            for i in range(0, len(texts), batch_size)
        ]
        return np.concatenate(parts).astype(np.float64) if parts else np.zeros(0)

    def _sentences(self, docs: Sequence[Doc]) -> tuple[list[np.ndarray], np.ndarray]:
        encoder, scorer = self._require_fitted()
        vectors = encoder.vectors(docs)
        lexical = self.lexical
        sentences = [
            scorer.sentence(v, lexical.transform(d) if lexical is not None else None) for v, d in zip(vectors, docs)
        ]
        return vectors, np.stack(sentences) if sentences else np.zeros((0, 1), np.float32)

    def parse_docs(self, docs: Sequence[Doc]) -> list[ParseResult]:
        """Parse analysed utterances; each result keeps its :class:`Doc` (``result.doc``)."""
        if not docs:
            return []
        _, scorer = self._require_fitted()
        vectors, sentences = self._sentences(docs)
        scores = scorer.scores(sentences)
        fallback_on = self.settings.intent.fallback
        results = []
        for i, doc in enumerate(docs):
            probabilities = scores.probabilities[i]
            in_domain = float(scores.in_domain[i])
            # An utterance without a single letter ("", "!!!", "1234", a zero-width space) says
            # nothing a bot could act on, however near a centre its vector happens to fall.
            fallback = fallback_on and (in_domain < self.threshold or not doc.has_word)
            nearest = int(scores.predicted[i])
            order = [nearest, *(j for j in np.argsort(-probabilities, kind="stable").tolist() if j != nearest)]
            ranking = [
                IntentScore.model_construct(name=self.intents[j], confidence=float(probabilities[j])) for j in order
            ]
            top = (
                IntentScore.model_construct(name=FALLBACK, confidence=ranking[0].confidence) if fallback else ranking[0]
            )
            entities = self._entities(doc, vectors[i], sentences[i])
            result = ParseResult.model_construct(
                text=doc.text, intent=top, intent_ranking=ranking, fallback=fallback, entities=entities
            )
            doc.vectors["tokens"], doc.vectors["sentence"] = vectors[i], sentences[i]
            result.attach(doc, in_domain)
            results.append(result)
        return results

    def _entities(self, doc: Doc, tokens: np.ndarray, sentence: np.ndarray) -> list[EntitySpan]:
        if self.tagger is None or not doc.tokens:
            return []
        path = self.tagger.decode(self.tagger.emissions(tokens[: len(doc.tokens)], sentence))
        entities = []
        for ent in tags_to_entities(doc.tokens, [self.tags[t] for t in path], doc.normalized):
            start, end = doc.to_original(ent.start, ent.end)
            entities.append(
                EntitySpan.model_construct(entity=ent.type, value=doc.text[start:end], start=start, end=end)
            )
        return entities

    # -- persistence -------------------------------------------------------------------------

    def files(self) -> dict[str, bytes]:
        """Every file of the saved model, by relative path."""
        encoder, _ = self._require_fitted()
        weights, ref = weights_file(self._head_arrays)
        encoder_ref = EncoderRef(
            name=encoder.name,
            type=encoder.type,
            sha256=encoder.sha256,
            bundled=self.encoder_bundled,
            path=ENCODER_DIR if self.encoder_bundled else encoder.path,
        )
        states = self._component_states
        meta = ModelMeta(
            format="malmoi-model",
            format_version=FORMAT_VERSION,
            malmoi_version=__version__,
            config=self.config.model_dump(mode="json"),
            intents=self.intents,
            tags=self.tags,
            threshold=float(self.threshold),
            encoder=encoder_ref,
            lexical=ComponentMeta(type=self.settings.lexical.type, state=states.get("lexical", {})),
            intent=ComponentMeta(type=self.settings.intent.loss, state=states.get("intent", {})),
            entity=ComponentMeta(type="crf.v1", state=states.get("entity", {})) if self.tagger is not None else None,
            weights=ref,
            report=self.report,
        )
        files = {MODEL_FILE: json_bytes(meta.model_dump(mode="json")), WEIGHTS_FILE: weights}
        if self.encoder_bundled:
            files.update({f"{ENCODER_DIR}/{name}": data for name, data in encoder.files().items()})
        return files

    def save(self, model_dir: str | Path) -> Path:
        """Write the model directory atomically (a crash leaves the old one, never half a new one)."""
        return write_directory(model_dir, self.files())

    @classmethod
    def load(cls, model_dir: str | Path) -> Model:
        model_dir = Path(model_dir)
        meta_path = model_dir / MODEL_FILE
        if not meta_path.is_file():
            raise ModelLoadError(
                f"{model_dir} is not a malmoi model: expected {MODEL_FILE} in it. "
                f"Train one with `malmoi train BOT_DIR --out {model_dir}`."
            )
        document = read_json(meta_path, "a model description")
        version = document.get("format_version")
        if isinstance(version, str) and version.strip().isdigit():
            raise ModelLoadError(
                f"{meta_path}: `format_version` is the string {version!r}; it must be the number {version.strip()} "
                "(a model written by malmoi never quotes it: the file was edited by hand or by another program)"
            )
        if document.get("format") == "malmoi-model" and version != FORMAT_VERSION:
            raise ModelLoadError(
                f"{model_dir} was saved by malmoi {document.get('malmoi_version', '?')} in model format "
                f"{document.get('format_version')!r}; malmoi {__version__} reads format {FORMAT_VERSION} only. "
                "Train the model again with this version (`malmoi train`), or install the version that made it."
            )
        meta: ModelMeta = validate(ModelMeta, document, meta_path)
        try:
            config = BotConfig.model_validate(meta.config, context=STORED)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise ModelLoadError(
                f"{meta_path}: `config.{field}` {first['msg'].lower()}; train the model again"
            ) from None
        model = cls(config)
        model.intents, model.tags, model.threshold, model.report = meta.intents, meta.tags, meta.threshold, meta.report
        arrays = read_weights(model_dir, meta.weights)
        model.encoder_bundled = meta.encoder.bundled
        model.encoder = _load_model_encoder(model_dir, meta.encoder, config)
        try:
            model._set_heads(meta, arrays)
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

    def _set_heads(self, meta: ModelMeta, arrays: dict[str, np.ndarray]) -> None:
        from malmoi import components, registry

        components.register_builtins()
        assert self.encoder is not None
        self._head_arrays = arrays
        self._component_states = {
            "lexical": meta.lexical.state,
            "intent": meta.intent.state,
            "entity": meta.entity.state if meta.entity else {},
        }
        lexical = registry.lexical.get(self.settings.lexical.type).factory(self.settings.lexical)
        self.lexical = None if lexical is None else lexical.load_export(meta.lexical.state, subset(arrays, "lexical."))
        self.scorer = IntentScorer(meta.intent.state, subset(arrays, "intent."))
        if self.scorer.num_intents != len(self.intents):
            raise ValueError(f"{self.scorer.num_intents} intent centres for {len(self.intents)} intents")
        if self.scorer.project_weight.shape[1] != 2 * self.encoder.output_dim:
            raise ValueError(
                f"the intent head reads vectors of {self.scorer.project_weight.shape[1] // 2}, "
                f"the encoder gives {self.encoder.output_dim}"
            )
        lexical_rows = 0 if self.scorer.lexical is None else len(self.scorer.lexical)
        if lexical_rows != (self.lexical.size if self.lexical is not None else 0):
            raise ValueError(f"{lexical_rows} lexical rows for {self.lexical.size if self.lexical else 0} n-grams")
        self.tagger = (
            EntityTagger(meta.entity.state, subset(arrays, "entity."), len(self.tags)) if meta.entity else None
        )

    @property
    def nbytes(self) -> int:
        """Bytes of arrays this bot holds on its own (a shared encoder is not counted)."""
        own = sum(a.nbytes for a in self._head_arrays.values())
        if self.encoder is not None and self.encoder_bundled:
            own += self.encoder.nbytes
        return int(own)


def _load_model_encoder(model_dir: Path, ref: EncoderRef, config: BotConfig) -> EncoderRuntime:
    """The model's encoder: a malmoi encoder artifact, or what its component loads (a pretrained folder)."""
    from malmoi import components, registry

    components.register_builtins()
    if ref.type in registry.encoders:
        entry = registry.encoders.get(ref.type)
        if entry.runtime is not None:  # bundled or not, the component knows its own folder
            runtime: EncoderRuntime = entry.runtime_factory(config.settings.encoder, ref, model_dir)
            return runtime
    return load_encoder(_encoder_dir(model_dir, ref), expected_sha256=ref.sha256)


def _encoder_dir(model_dir: Path, ref: EncoderRef) -> Path:
    if ref.bundled:
        return model_dir / ENCODER_DIR
    candidates = [Path(ref.path), model_dir / ref.path]
    candidates += [Path(p) / ref.name for p in os.environ.get(ENCODER_PATH_VARIABLE, "").split(os.pathsep) if p]
    for candidate in candidates:
        if (candidate / "encoder.json").is_file():
            return candidate
    raise ModelLoadError(
        f"{model_dir} uses the shared encoder {ref.name!r} (hash {ref.sha256[:12]}), found at {ref.path} when it was "
        f"trained; it is not there now. Put it back, or list the folder that holds it in {ENCODER_PATH_VARIABLE}."
    )


def load(model_dir: str | Path) -> Model:
    """Load a trained model directory: ``malmoi.load("models/demo").parse("안녕")``."""
    return Model.load(model_dir)
