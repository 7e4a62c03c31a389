"""int8 lookup tables: bounded error, and a saved model that keeps them int8."""

from __future__ import annotations

import numpy as np
import pytest

from malmoi.featurize.hashing import CompactTable
from malmoi.featurize.quantize import Int8Rows, quantized_arrays, read_rows


def test_each_value_is_within_half_a_step_of_its_row_scale():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(500, 64)).astype(np.float32) * rng.uniform(0.01, 3.0, size=(500, 1)).astype(np.float32)
    rows = Int8Rows.quantize(table)
    error = np.abs(rows.dense() - table)
    step = np.abs(table).max(axis=1, keepdims=True) / 127
    assert np.all(error <= step / 2 + 1e-6)
    assert rows.nbytes < table.nbytes / 3.5


def test_zero_rows_stay_exactly_zero_and_unknown_buckets_read_zero():
    table = CompactTable(np.array([3, 7]), np.array([[0.0, 0.0], [0.5, -0.25]], np.float32))
    looked_up = table.lookup(np.array([3, 7, 5]))
    assert looked_up[0].tolist() == [0.0, 0.0] and looked_up[2].tolist() == [0.0, 0.0]
    assert looked_up[1] == pytest.approx([0.5, -0.25], abs=0.5 / 254)


def test_an_artifact_table_reads_back_from_int8_or_float():
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    stored = quantized_arrays("lexical", table)
    assert stored["lexical.q8"].dtype == np.int8 and "lexical" not in stored
    from_int8, from_float = read_rows(stored, "lexical"), read_rows({"lexical": table}, "lexical")
    assert from_int8 is not None and from_float is not None
    assert np.array_equal(from_int8.values, from_float.values)
    assert read_rows({}, "lexical") is None
    with pytest.raises(ValueError, match="one scale each"):
        Int8Rows(stored["lexical.q8"], stored["lexical.scale"][:2])


def test_a_saved_model_keeps_its_lookup_tables_int8_and_parses_as_it_did_in_memory(tiny_model, tmp_path):
    from safetensors.numpy import load_file

    import malmoi

    saved = tiny_model.save(tmp_path / "model")
    intent = load_file(saved / "intent.safetensors")
    encoder = load_file(saved / "encoder" / "weights.safetensors")
    assert intent["lexical.q8"].dtype == np.int8 and "lexical" not in intent
    assert any(k.endswith("rows.q8") and v.dtype == np.int8 for k, v in encoder.items())
    # ... and none kept as floats (the projected vectors of training's morphemes, `morpheme_rows`, are
    # a float32 cache of what parsing computes, not a lookup table)
    assert not any(k.endswith("rows") and not k.endswith("morpheme_rows") for k in encoder)
    loaded = malmoi.load(saved)
    for text in ["내일 서울 날씨 알려줘", "부산 맛집 추천해줘", "완전히 다른 이야기"]:
        before, after = tiny_model.parse(text), loaded.parse(text)
        assert after.intent.name == before.intent.name and after.fallback == before.fallback
        assert after.intent.confidence == pytest.approx(before.intent.confidence, abs=1e-6)
        assert after.entities == before.entities
