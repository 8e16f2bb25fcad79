def test_smoke(decide):
    r = decide({"visitor": {"id": "a1"}, "context": {"city": "Detroit"}, "explain": True})
    print(r.status_code, r.content[:3000])
    assert r.status_code == 200
