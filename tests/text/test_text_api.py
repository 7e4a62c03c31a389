import malmoi.text


def test_text_public_surface_is_pinned():
    assert sorted(malmoi.text.__all__) == [
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
    for name in malmoi.text.__all__:
        assert hasattr(malmoi.text, name)


def test_importing_text_does_not_load_kiwi():
    import subprocess
    import sys

    code = "import sys, malmoi.text; print('kiwipiepy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
