"""Named criteria examples, shared by the docs, the API schema, the demo and the tests.

`examples.json` beside this module is the one copy: docs/criteria.md's examples section is
generated from it (`python -m segments.criteria.examples docs/criteria.md` rewrites that
section; a test fails when it is stale), the segments API builds its OpenAPI examples from
it, `segments.demo` seeds its segments with it, and the builder tests round-trip it.
Pure module: no Django.
"""

from __future__ import annotations

import copy
import json
import sys
from functools import cache
from pathlib import Path
from typing import Any, NotRequired, TypedDict

EXAMPLES_PATH = Path(__file__).with_name("examples.json")
DOCS_START = "<!-- criteria examples: generated from segments/criteria/examples.json -->"
DOCS_END = "<!-- end of criteria examples -->"


class CriteriaExample(TypedDict):
    name: str  # a slug; also the segment key where the demo seeds it
    title: str
    description: str
    tree: dict[str, Any]
    # Custom fields (path -> type) the tree needs besides the built-in catalog.
    fields: NotRequired[dict[str, str]]
    # A visitor document the tree matches.
    document: NotRequired[dict[str, Any]]


@cache
def _load() -> tuple[CriteriaExample, ...]:
    examples = json.loads(EXAMPLES_PATH.read_text(encoding="utf-8"))
    names = [e["name"] for e in examples]
    if len(set(names)) != len(names):
        raise ValueError(f"{EXAMPLES_PATH.name}: example names must be unique")
    return tuple(examples)


def criteria_examples() -> list[CriteriaExample]:
    """Every example, in file order (deep copies: callers may change them)."""
    return copy.deepcopy(list(_load()))


def criteria_example(name: str) -> CriteriaExample:
    """The example called `name`; KeyError when there is none."""
    for example in _load():
        if example["name"] == name:
            return copy.deepcopy(example)
    raise KeyError(name)


def example_tree(name: str) -> dict[str, Any]:
    """The criteria tree of the example called `name`."""
    return criteria_example(name)["tree"]


def compact_json(value: Any, indent: int = 0, width: int = 88, *, lead: int = 0) -> str:
    """JSON with every object or list that fits in `width` on one line, the rest indented.

    `lead` is how many characters precede the value on its first line (a key, say).
    """
    flat = json.dumps(value, ensure_ascii=False)
    if indent + lead + len(flat) <= width or not isinstance(value, dict | list) or not value:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            key_json = json.dumps(key, ensure_ascii=False) + ": "
            items.append(pad + key_json + compact_json(item, indent + 2, width, lead=len(key_json)))
    else:
        items = [pad + compact_json(item, indent + 2, width) for item in value]
    opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
    return opening + "\n" + ",\n".join(items) + "\n" + " " * indent + closing


def docs_markdown() -> str:
    """The examples section of docs/criteria.md, markers included."""
    parts = [DOCS_START, ""]
    for example in _load():
        parts += [f"### {example['title']}", "", example["description"], ""]
        if example.get("fields"):
            custom = ", ".join(f"`{p}` ({t})" for p, t in example["fields"].items())
            parts += [f"Needs the custom field {custom}.", ""]
        parts += ["```json", compact_json(example["tree"]), "```", ""]
    parts.append(DOCS_END)
    return "\n".join(parts)


def replace_docs_section(text: str) -> str:
    """`text` (a markdown page) with its generated examples section brought up to date."""
    start, end = text.index(DOCS_START), text.index(DOCS_END) + len(DOCS_END)
    return text[:start] + docs_markdown() + text[end:]


if __name__ == "__main__":
    # python -m segments.criteria.examples docs/criteria.md
    page = Path(sys.argv[1])
    page.write_text(replace_docs_section(page.read_text(encoding="utf-8")), encoding="utf-8")
