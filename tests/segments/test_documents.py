from segments.documents import merge_documents


def test_merge_documents_overrides_one_level_deep_and_keeps_the_base():
    base = {"profile": {"age": 30, "city": "Detroit"}, "context": {"os": "iOS"}, "events": [1]}
    extra = {"profile": {"age": 27}, "context": "not a dict", "visitor": {"id": "v"}}
    merged = merge_documents(base, extra)
    assert merged == {
        "profile": {"age": 27, "city": "Detroit"},
        "context": "not a dict",
        "events": [1],
        "visitor": {"id": "v"},
    }
    assert base["profile"] == {"age": 30, "city": "Detroit"}  # not mutated
