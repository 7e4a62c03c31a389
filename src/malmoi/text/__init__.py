"""Text handling with character offsets: normalization, tokenization, entity alignment.

>>> from malmoi.text import get_tokenizer
>>> [t.text for t in get_tokenizer("ko").tokenize("내일 서울 날씨 알려줘")]
['내일', '서울', '날씨', '알려', '줘']
"""

from malmoi.text.align import entities_to_tags, entity_boundaries, split_at, tags_to_entities
from malmoi.text.doc import Analyzer, Doc, has_word
from malmoi.text.normalize import NormalizedText, normalize
from malmoi.text.tokenize import (
    KoreanTokenizer,
    Token,
    Tokenizer,
    UnicodeTokenizer,
    get_tokenizer,
)

__all__ = [
    "Analyzer",
    "Doc",
    "KoreanTokenizer",
    "NormalizedText",
    "Token",
    "Tokenizer",
    "UnicodeTokenizer",
    "entities_to_tags",
    "entity_boundaries",
    "get_tokenizer",
    "has_word",
    "normalize",
    "split_at",
    "tags_to_entities",
]
