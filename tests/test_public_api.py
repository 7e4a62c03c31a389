import malmoi


def test_public_surface_is_pinned():
    assert sorted(malmoi.__all__) == sorted(
        ["DataError", "Model", "ModelLoadError", "ParseResult", "Problem", "__version__", "load", "train"]
    )
    for name in malmoi.__all__:
        assert hasattr(malmoi, name)
