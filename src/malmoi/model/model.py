"""A trained bot model: parse text, save to and load from a directory.

Artifact layout (``MODEL_DIR``):
    model.json           format version, malmoi version, resolved bot config and settings,
                         label maps, vocabularies, fallback threshold, training report
    weights.safetensors  network weights (safetensors: loading a model cannot run code)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from malmoi._version import __version__
from malmoi.encode.features import TokenFeaturizer
from malmoi.errors import ModelLoadError
from malmoi.entity.crf import viterbi
from malmoi.intent.heads import DistanceClassifier
from malmoi.model.network import JointNetwork
from malmoi.model.pipeline import collate, encode_tokens
from malmoi.model.result import FALLBACK, EntitySpan, IntentScore, ParseResult
from malmoi.settings import BotConfig
from malmoi.text import get_tokenizer, normalize, tags_to_entities

FORMAT_VERSION = 3  # 2: intent losses own their centres (malmoi.intent.losses); 3: sentence_tags
MODEL_FILE = "model.json"
WEIGHTS_FILE = "weights.safetensors"
_EMBEDDING = "embed.weight"
_EMBEDDING_ROWS, _EMBEDDING_VALUES = "embed.rows", "embed.values"


class Model:
    """Parses utterances into intent, fallback decision and entities.

    Build one with ``malmoi.train(...)`` or ``malmoi.load(path)``.
    """

    def __init__(
        self,
        config: BotConfig,
        *,
        intents: list[str],
        tags: list[str],
        featurizer: TokenFeaturizer,
        network: JointNetwork,
        threshold: float,
        report: dict[str, Any] | None = None,
    ):
        self.config = config
        self.intents = intents
        self.tags = tags
        self.featurizer = featurizer
        self.network = network.eval()
        self.threshold = threshold
        self.report = report or {}
        self.classifier = DistanceClassifier(network.intent_loss, threshold=threshold)
        self._tokenizer = get_tokenizer(config.language)
        self._decode_lock = threading.Lock()
        self._crf_scores: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def settings(self):
        return self.config.settings

    # -- parsing ---------------------------------------------------------------------------

    def parse(self, text: str) -> ParseResult:
        """Parse one utterance.

        >>> model.parse("내일 서울 날씨 알려줘").intent.name  # doctest: +SKIP
        'weather'
        """
        return self.parse_batch([text])[0]

    def parse_batch(self, texts: Sequence[str]) -> list[ParseResult]:
        """Parse many utterances with one forward pass of the network."""
        return self.parse_with_scores(texts)[0]

    def parse_with_scores(self, texts: Sequence[str]) -> tuple[list[ParseResult], np.ndarray]:
        """Parse results plus each utterance's in-domain score (fallback when below ``threshold``)."""
        if not texts:
            return [], np.zeros(0)
        normalized = [normalize(t) for t in texts]
        max_tokens = self.settings.training.max_tokens
        tokens = [self._tokenizer.tokenize(n.text)[:max_tokens] for n in normalized]
        batch = collate([encode_tokens(t, self.featurizer) for t in tokens])
        with torch.inference_mode():
            sentence, emissions = self.network(batch)
            intent = self.classifier.scores(sentence)
        probabilities = intent.probabilities.numpy()  # (batch, intents)
        in_domain_scores = intent.in_domain.numpy()  # (batch,)
        emissions_np = emissions.numpy()
        results = []
        for i, text in enumerate(texts):
            fallback = self.settings.intent.fallback and bool(in_domain_scores[i] < self.threshold)
            # The nearest centre leads the ranking; the rest follow by probability.
            order = np.argsort(-probabilities[i], kind="stable")
            nearest = int(intent.predicted[i])
            order = [nearest, *(j for j in order if j != nearest)]
            ranking = [IntentScore(name=self.intents[j], confidence=float(probabilities[i, j])) for j in order]
            top = IntentScore(name=FALLBACK, confidence=ranking[0].confidence) if fallback else ranking[0]
            tag_path = self._decode(emissions_np[i, : len(tokens[i])])
            entities = []
            for ent in tags_to_entities(tokens[i], [self.tags[t] for t in tag_path], normalized[i].text):
                start, end = normalized[i].to_original(ent.start, ent.end)
                entities.append(EntitySpan(entity=ent.type, value=text[start:end], start=start, end=end))
            results.append(
                ParseResult(
                    text=text, intent=top, intent_ranking=ranking, fallback=fallback, entities=entities
                )
            )
        return results, in_domain_scores

    def calibrate(self, texts: Sequence[str], ood_texts: Sequence[str] = (), *, batch_size: int = 256) -> float:
        """Choose the fallback threshold again, on held-out utterances the model never trained on.

        ``texts`` are in-domain, ``ood_texts`` out of domain; the criterion is the bot's
        ``settings.intent.threshold`` (without ``ood_texts``: its ``false_fallback_rate``).
        Training calibrates on a share of the bot's own data; a larger labelled set of real
        traffic calibrates better. Returns the new threshold, which ``save`` then stores.

        >>> model.calibrate(validation_texts, out_of_scope_texts)  # doctest: +SKIP
        0.41
        """
        from malmoi.intent.fallback import choose_threshold

        def scores(items: Sequence[str]) -> np.ndarray:
            parts = [self.parse_with_scores(items[i : i + batch_size])[1] for i in range(0, len(items), batch_size)]
            return np.concatenate(parts) if parts else np.zeros(0)

        if not texts:
            raise ValueError("calibrate needs held-out in-domain utterances")
        intent = self.settings.intent
        threshold, method = choose_threshold(
            scores(texts), scores(ood_texts) if ood_texts else None, criterion=intent.threshold,
            target_ood_recall=intent.target_ood_recall, false_fallback_rate=intent.false_fallback_rate,
        )
        self.threshold = self.classifier.threshold = threshold
        self.report["calibration"] = {"method": method, "threshold": threshold, "held_out_in_domain": len(texts),
                                      "held_out_ood": len(ood_texts), "source": "Model.calibrate"}
        return threshold

    def _decode(self, emissions: np.ndarray) -> list[int]:
        if not self.network.use_crf:
            return emissions.argmax(-1).tolist()
        if self._crf_scores is None:
            with self._decode_lock:
                self._crf_scores = self.network.crf.decode_numpy()
        return viterbi(emissions, *self._crf_scores)

    # -- persistence -----------------------------------------------------------------------

    def save(self, model_dir: str | Path) -> Path:
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": "malmoi-model",
            "format_version": FORMAT_VERSION,
            "malmoi_version": __version__,
            "config": self.config.model_dump(mode="json"),
            "intents": self.intents,
            "tags": self.tags,
            "vocab": self.featurizer.vocab,
            "pos_tags": self.featurizer.pos_tags,
            "threshold": self.threshold,
            "report": self.report,
        }
        state = {k: v.detach().contiguous() for k, v in self.network.state_dict().items()}
        # Most hash buckets are never touched by a bot's data and stay zero: store the rest.
        table = state.pop(_EMBEDDING)
        rows = table.abs().sum(1).nonzero().squeeze(1)
        state[_EMBEDDING_ROWS], state[_EMBEDDING_VALUES] = rows, table[rows].contiguous()
        save_file(state, str(model_dir / WEIGHTS_FILE))
        (model_dir / MODEL_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1), "utf-8")
        return model_dir

    @classmethod
    def load(cls, model_dir: str | Path) -> Model:
        model_dir = Path(model_dir)
        meta_path, weights_path = model_dir / MODEL_FILE, model_dir / WEIGHTS_FILE
        if not meta_path.is_file() or not weights_path.is_file():
            raise ModelLoadError(
                f"{model_dir} is not a malmoi model: expected {MODEL_FILE} and {WEIGHTS_FILE} in it. "
                f"Train one with `malmoi train BOT_DIR --out {model_dir}`."
            )
        try:
            meta = json.loads(meta_path.read_text("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelLoadError(f"{meta_path} is not valid JSON ({exc}); the model is damaged, retrain it.") from exc
        if not isinstance(meta, dict) or meta.get("format") != "malmoi-model":
            raise ModelLoadError(f"{meta_path} is not a malmoi model file.")
        version = meta.get("format_version")
        if version != FORMAT_VERSION:
            raise ModelLoadError(
                f"{model_dir} was saved by malmoi {meta.get('malmoi_version', '?')} in model format "
                f"{version}; malmoi {__version__} reads format {FORMAT_VERSION} only. Retrain the model "
                f"with this version (`malmoi train`), or install the malmoi version that made it."
            )
        try:
            config = BotConfig.model_validate(meta["config"])
            featurizer = TokenFeaturizer(
                meta["vocab"], config.settings.encoder.hash_buckets, meta["pos_tags"]
            )
            network = JointNetwork(
                config.settings,
                num_embeddings=featurizer.num_embeddings,
                num_pos=len(featurizer.pos_tags),
                num_intents=len(meta["intents"]),
                tags=meta["tags"],
            )
            state = load_file(str(weights_path))
            table = network.state_dict()[_EMBEDDING].clone()
            table[state.pop(_EMBEDDING_ROWS)] = state.pop(_EMBEDDING_VALUES)
            state[_EMBEDDING] = table
            network.load_state_dict(state)
        except (KeyError, ValueError, RuntimeError) as exc:
            raise ModelLoadError(f"{model_dir} is damaged or incomplete ({exc}); retrain it.") from exc
        return cls(
            config,
            intents=meta["intents"],
            tags=meta["tags"],
            featurizer=featurizer,
            network=network,
            threshold=float(meta["threshold"]),
            report=meta.get("report", {}),
        )


def load(model_dir: str | Path) -> Model:
    """Load a trained model directory: ``malmoi.load("models/demo").parse("안녕")``."""
    return Model.load(model_dir)
