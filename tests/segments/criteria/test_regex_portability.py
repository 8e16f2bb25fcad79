"""`matches` accepts only patterns that RE2 (memory, SQLite) and PostgreSQL read alike."""

import pytest

from segments.criteria import CriteriaError, compile_criteria
from segments.criteria.regex import portable_regex_problem
from segments.models import Profile


def tree(pattern, case_sensitive=False):
    return {
        "all": [
            {
                "field": "profile.city",
                "op": "matches",
                "value": pattern,
                "case_sensitive": case_sensitive,
            }
        ]
    }


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        (r"\bdet", r"\b is not supported"),
        (r"det\B", r"\B is not supported"),
        (r"\d+", "use [0-9]"),
        (r"\w+", "use [A-Za-z0-9_]"),
        (r"\s", "use [ "),
        (r"\x41B", r"\x is not supported"),
        (r"(a)\1", r"\1 is not supported"),
        (r"end\z", r"\z is not supported"),
        (r"\pL", r"\p is not supported"),
        ("[[:alpha:]]+", "POSIX classes"),
        ("(?i)detroit", "Only (?:…) groups"),
        ("(?P<x>a)", "Only (?:…) groups"),
        ("a{256}", "limited to 255"),
        ("a{2,300}", "limited to 255"),
        ("trailing\\", "cannot end with a backslash"),
    ],
)
def test_non_portable_patterns_are_refused_with_a_hint(pattern, says):
    assert says in portable_regex_problem(pattern)
    with pytest.raises(CriteriaError) as raised:
        compile_criteria(tree(pattern))
    assert raised.value.path == "$.all[0].value"
    assert says in raised.value.message


@pytest.mark.parametrize(
    "pattern",
    [
        r"^det",
        r"roit$",
        r"[0-9]{2,5}",
        r"(?:north|south) ?park",
        r"a\.b",
        r"\n",
        r"[^a-z]",
        r"a{255}",
    ],
)
def test_portable_patterns_are_accepted(pattern):
    assert portable_regex_problem(pattern) is None
    compile_criteria(tree(pattern))


def test_dot_matches_a_newline_as_in_postgresql():
    assert compile_criteria(tree("a.b")).matches({"profile": {"city": "a\nb"}})


CITIES = [
    "Detroit",
    "DETROIT",
    "detroit\nmi",
    "Ann Arbor",
    "a.b",
    "axb",
    "12345",
    "north park",
    "South Park",
    "",
    "x" * 300,
    "Détroit",
    "DÉTROIT",
    "Zürich",
]
PATTERNS = [
    ("^det", False),
    ("^det", True),
    ("roit$", False),
    ("t.m", False),
    ("^[0-9]{5}$", True),
    ("(?:north|south) park", False),
    ("a\\.b", True),
    ("a.b", True),
    ("^$", True),
    ("x{255}", True),
    ("[^a-z ]", True),
    ("^dét", False),
    ("ZÜR", False),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("pattern", "case_sensitive"), PATTERNS)
def test_memory_and_sql_agree_on_portable_patterns(site, pattern, case_sensitive):
    profiles = Profile.objects.bulk_create(
        Profile(site=site, user_id=f"u{i}", traits={"city": city}) for i, city in enumerate(CITIES)
    )
    rule = compile_criteria(tree(pattern, case_sensitive))
    in_memory = {p.user_id for p in profiles if rule.matches({"profile": p.traits})}
    in_sql = set(
        Profile.objects.filter(site=site).filter(rule.to_q()).values_list("user_id", flat=True)
    )
    assert in_memory == in_sql
