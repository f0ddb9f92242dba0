"""What the schemathesis tests (test_openapi.py, test_fuzz_all_checks.py) fuzz: every operation of
/openapi.json but those that cannot be fuzzed here. Streams stay open by design, the cron routes would
run retention against every other test's data, and /metrics is plain text for Prometheus."""
from __future__ import annotations

import re
from typing import Any, Iterator

EXCLUDED = re.compile(r"/events$|/stream$|^/api/cron/|^/metrics$")


def fuzzable_operations(schema: Any) -> Iterator[Any]:
    for result in schema.get_all_operations():
        operation = result.ok()
        if not EXCLUDED.search(operation.path):
            yield operation


# ---------------------------------------------------------------------------------- hostile JSON
# Shapes schemathesis does not draw (issue 13 item 9), as raw JSON text: numbers JSON or PostgreSQL
# cannot hold (NaN, Infinity, 1e400, integers past 64 bits or past Python's digit limit), nesting
# deeper than any parser's recursion, and bodies that are valid JSON but not an object.

from hypothesis import strategies as st  # noqa: E402

EXTREME_NUMBERS = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1E+999", "9223372036854775808",
                     "-9223372036854775809", "99999999999999999999", "0.1e-400"]),
    st.integers(min_value=4301, max_value=6000).map(lambda n: "1" * n),  # past Python's int digit limit
    st.integers(min_value=2**63, max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: "NaN" if f != f else ("Infinity" if f == float("inf")
                                                       else "-Infinity" if f == float("-inf") else repr(f))),
)


def _nest(depth: int, leaf: str, kind: str) -> str:
    if kind == "list":
        return "[" * depth + leaf + "]" * depth
    return '{"a":' * depth + leaf + "}" * depth


DEEP_VALUES = st.builds(_nest, st.sampled_from([33, 100, 989, 990, 1000, 5000, 50_000]),
                        st.sampled_from(["1", '"x"', "null", "[]"]), st.sampled_from(["list", "dict"]))
NON_OBJECTS = st.sampled_from(["[1, 2, 3]", '"str"', "null", "true", "0", "[]", '[{"a": 1}]', "1e400", "NaN"])


def hostile_json(field_names: list[str]) -> st.SearchStrategy[str]:
    """A request body: a non-object, or an object whose fields (the operation's own, so the value gets
    past "unknown field") hold an extreme number or a deep value."""
    value = st.one_of(EXTREME_NUMBERS, DEEP_VALUES,
                      st.builds(lambda n: '{"k": ' + n + "}", EXTREME_NUMBERS),
                      st.builds(lambda n: "[" + n + "]", EXTREME_NUMBERS))
    names = st.sampled_from(field_names or ["payload"])
    obj = st.builds(lambda name, v: "{" + f'"{name}": ' + v + "}", names, value)
    return st.one_of(NON_OBJECTS, obj, DEEP_VALUES)
