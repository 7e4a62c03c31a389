"""Bot configuration (``bot.yaml``) and training settings: one validated object each.

A trained model stores the resolved settings next to its weights, so it describes itself.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    # A misspelled key should be an error that names it, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid")


class EncoderSettings(_Strict):
    kind: Literal["cnn", "bilstm"] = "cnn"  # Kochat found CNN features separate classes better
    dim: int = Field(128, ge=8, le=2048)  # big enough for thousands of examples, fast on 2 cores
    layers: int = Field(2, ge=1, le=6)
    kernel_size: int = Field(3, ge=1, le=9)
    dropout: float = Field(0.2, ge=0.0, lt=1.0)
    hash_buckets: int = Field(2**17, ge=1024)  # char n-gram buckets; unseen words still get vectors
    min_token_count: int = Field(1, ge=1)


class IntentSettings(_Strict):
    loss: Literal["cross_entropy", "cosface"] = "cosface"
    margin: float = Field(0.2, ge=0.0, le=1.0)  # CosFace additive cosine margin
    scale: float = Field(16.0, gt=0.0)  # CosFace logit scale
    fallback: bool = True  # False: never answer "fallback"
    # Without out-of-domain data, the threshold lets this share of held-out in-domain
    # utterances fall back; with it, the threshold maximizes in-/out-of-domain macro-F1.
    false_fallback_rate: float = Field(0.01, ge=0.0, le=0.5)


class EntitySettings(_Strict):
    crf: bool = True
    scheme: Literal["BIO", "BIOES"] = "BIOES"  # internal scheme; data may use BIO, BIOES or BILOU


class TrainingSettings(_Strict):
    epochs: int = Field(30, ge=1, le=1000)
    patience: int = Field(4, ge=1)  # early stopping: epochs without validation improvement
    batch_size: int = Field(128, ge=1)
    learning_rate: float = Field(3e-3, gt=0.0)
    validation_split: float = Field(0.1, ge=0.0, lt=0.5)
    seed: int = 0
    max_tokens: int = Field(64, ge=4)  # longer utterances are truncated for the network


class Settings(_Strict):
    encoder: EncoderSettings = EncoderSettings()
    intent: IntentSettings = IntentSettings()
    entity: EntitySettings = EntitySettings()
    training: TrainingSettings = TrainingSettings()


class BotConfig(_Strict):
    name: str = Field("bot", min_length=1, max_length=100)
    language: str = Field("ko", min_length=2, max_length=8)  # "ko" uses the Korean analyser
    description: str = ""
    min_examples_per_intent: int = Field(5, ge=1)
    # Declared entity types. None: any type goes, and a rare type spelled like a common one is
    # reported as a likely typo; a list: a type not in it is an error, and nothing is guessed.
    entities: list[str] | None = None
    settings: Settings = Settings()
