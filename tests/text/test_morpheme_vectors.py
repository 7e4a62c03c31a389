"""Kiwi's morpheme vectors, recovered from its similarities, against Kiwi's own similarities."""

import numpy as np

from malmoi.text import Analyzer
from malmoi.text.morpheme_vectors import DIM, morpheme_vectors, version
from malmoi.text.tokenize import _kiwi


def test_recovered_vectors_give_kiwi_s_cosine_similarities():
    table = morpheme_vectors()
    kiwi = _kiwi()
    ids = [t.id for t in kiwi.tokenize("내일 서울 날씨 알려줘. 부산 대구 광주에 맛집 추천해 줄래?")]
    vectors = {i: table.vector(i) for i in ids}
    for a in ids:
        assert vectors[a].shape == (DIM,) and abs(float(np.linalg.norm(vectors[a])) - 1) < 1e-3
        for b in ids:
            assert abs(float(vectors[a] @ vectors[b]) - kiwi.morpheme_similarity(a, b)) < 2e-3


def test_cities_are_near_each_other_and_a_token_averages_its_morphemes():
    table = morpheme_vectors()
    seoul, busan, verb, _ = Analyzer("ko")("서울 부산 알려줘").tokens
    assert float(table.token_vector(seoul.morphemes) @ table.token_vector(busan.morphemes)) > 0.5
    assert len(verb.morphemes) == 2
    assert np.allclose(table.token_vector(verb.morphemes), np.mean([table.vector(m) for m in verb.morphemes], axis=0))


def test_morphemes_without_a_vector_get_zeros():
    table = morpheme_vectors()
    assert not table.vector(table.size + 10).any()
    assert not table.token_vector(()).any()
    assert version().startswith("kiwipiepy ")
