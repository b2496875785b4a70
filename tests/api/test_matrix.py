"""Midjourney's permutation prompts on their own: counts, order, nesting, escapes, flags,
--repeat, whitespace, errors with their positions, and the cap (hypothesis for the counts)."""

from __future__ import annotations

import math
import string
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mjstudio.api.matrix import (
    MAX_PROMPTS,
    REPEAT_RANGE,
    PermutationError,
    TooManyPrompts,
    count_prompts,
    expand,
    expand_prompts,
    has_permutations,
    parse_matrix,
    tidy,
)
from mjstudio.api.prompt import parse_prompt

# ---------------------------------------------------------------------------- properties

_WORD = string.ascii_letters + string.digits
options = st.text(_WORD + " ", min_size=0, max_size=8)
groups = st.lists(st.lists(options, min_size=1, max_size=4), min_size=0, max_size=4)
fillers = st.lists(st.text(_WORD + " .!", max_size=6), min_size=5, max_size=5)
BIG = 10**6  # no cap for the properties (at most 4 ** 4 * 5 prompts)


def template(option_lists: list[list[str]], between: list[str]) -> str:
    """``filler {a, b} filler {c} ...`` from option lists."""
    parts = [between[0]]
    for n, opts in enumerate(option_lists):
        parts.append("{" + ",".join(opts) + "}")
        parts.append(between[n + 1])
    return "".join(parts)


@settings(max_examples=150, deadline=None)
@given(groups, fillers, st.integers(*REPEAT_RANGE).filter(lambda n: n <= 5))
def test_the_count_is_the_product_of_the_option_counts(option_lists, between, repeat):
    text = template(option_lists, between) + (f" --repeat {repeat}" if repeat > 1 else "")
    wanted = math.prod(len(opts) for opts in option_lists) * repeat
    assert count_prompts(text) == wanted
    found = expand(text, limit=BIG)
    assert len(found) == wanted
    assert not any(ch in e.prompt for e in found for ch in "{}")
    assert not any("--repeat" in e.prompt for e in found)
    for n, opts in enumerate(option_lists):  # every option is used, at its group's place
        assert {e.choices[n] for e in found} == {tidy(o) for o in opts}
        for option in opts:
            assert any(tidy(option) in e.prompt for e in found if e.choices[n] == tidy(option))
    # the first group varies slowest; copies of one prompt come together
    combos = [tuple(map(tidy, combo)) for combo in product(*option_lists)]
    assert [e.choices for e in found] == [c for c in combos for _ in range(repeat)]
    assert [e.copy for e in found] == list(range(repeat)) * len(combos)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(_WORD + " {},", min_size=1, max_size=8), min_size=1, max_size=4))
def test_escaped_braces_and_commas_stay_literal(raw_options):
    escaped = [o.replace("{", "\\{").replace("}", "\\}").replace(",", "\\,") for o in raw_options]
    found = expand("x {" + ",".join(escaped) + "} y", limit=BIG)
    assert [e.choices[0] for e in found] == [tidy(o) for o in raw_options]
    assert [e.prompt for e in found] == [tidy(f"x {o} y") for o in raw_options]


@settings(max_examples=100, deadline=None)
@given(st.text(_WORD + " {},\\", max_size=30))
def test_any_text_expands_or_names_a_position(text):
    try:
        matrix = parse_matrix(text)
    except PermutationError as exc:
        assert exc.position is not None and 0 <= exc.position < len(text)
        assert f"character {exc.position + 1}" in str(exc)
        return
    if matrix.count <= 50:
        assert len(matrix.expand()) == matrix.count


# ---------------------------------------------------------------------------- examples


def test_the_issue_example_makes_four_prompts_with_their_aspects():
    prompts = expand_prompts("a {red, blue} bird --ar {1:1, 16:9}")
    assert prompts == [
        "a red bird --ar 1:1",
        "a red bird --ar 16:9",
        "a blue bird --ar 1:1",
        "a blue bird --ar 16:9",
    ]
    parsed = [parse_prompt(p) for p in prompts]
    assert [(p.prompt, p.params) for p in parsed] == [
        ("a red bird", {"aspect": "1:1"}),
        ("a red bird", {"aspect": "16:9"}),
        ("a blue bird", {"aspect": "1:1"}),
        ("a blue bird", {"aspect": "16:9"}),
    ]


def test_two_groups_make_six_in_midjourneys_order():
    found = expand("a {red, blue, green} bird on a {branch, wire}")
    assert [e.prompt for e in found] == [
        "a red bird on a branch",
        "a red bird on a wire",
        "a blue bird on a branch",
        "a blue bird on a wire",
        "a green bird on a branch",
        "a green bird on a wire",
    ]
    assert [e.combination for e in found] == list(range(6))
    assert found[3].choices == ("blue", "wire") and found[3].label == "blue · wire"


def test_groups_nest():
    found = expand("a {red {cat, dog}, blue bird}")
    assert [e.prompt for e in found] == ["a red cat", "a red dog", "a blue bird"]
    assert [e.choices for e in found] == [("red cat",), ("red dog",), ("blue bird",)]
    assert parse_matrix("{a {b, c {d, e}}, f} {g, h}").group_sizes == (4, 2)
    assert expand_prompts("{{a,b}{c,d}}") == ["ac", "ad", "bc", "bd"]


def test_escapes_and_commas_outside_braces():
    assert expand_prompts(r"a \{literal\} {cat\, big, dog} here, there") == [
        "a {literal} cat, big here, there",
        "a {literal} dog here, there",
    ]
    assert expand_prompts(r"a back\slash \n {x}") == [r"a back\slash \n x"]
    assert count_prompts(r"no \{ group \}") == 1 and not has_permutations(r"no \{ group \}")


def test_empty_options_and_whitespace_are_tidied():
    assert expand_prompts("a {, big} cat") == ["a cat", "a big cat"]
    assert expand_prompts("  a {red ,  blue}   bird ,  ok {} ") == [
        "a red bird, ok",
        "a blue bird, ok",
    ]
    assert expand("a {, big} cat")[0].label == "(none)"


def test_flags_inside_options_and_whole_flags_as_options():
    prompts = expand_prompts("a fox {--ar 2:3 --s 50, --niji 6} --c {0, 20}")
    assert [parse_prompt(p).params for p in prompts] == [
        {"aspect": "2:3", "stylize": 50, "chaos": 0},
        {"aspect": "2:3", "stylize": 50, "chaos": 20},
        {"version": "niji 6", "chaos": 0},
        {"version": "niji 6", "chaos": 20},
    ]


def test_repeat_sends_copies_and_leaves_the_prompt():
    found = expand("a {red, blue} fox --r 3 --ar 16:9")
    assert [(e.prompt, e.copy) for e in found] == [
        ("a red fox --ar 16:9", 0),
        ("a red fox --ar 16:9", 1),
        ("a red fox --ar 16:9", 2),
        ("a blue fox --ar 16:9", 0),
        ("a blue fox --ar 16:9", 1),
        ("a blue fox --ar 16:9", 2),
    ]
    assert [e.combination for e in found] == [0, 0, 0, 1, 1, 1]
    assert count_prompts("a fox --repeat 40") == 40 and count_prompts("a fox —r 2") == 2
    assert parse_matrix("a fox --REPEAT 4").repeat == 4
    assert count_prompts("a fox --relax --raw") == 1  # neither is --r
    assert has_permutations("a fox --r 2") and not has_permutations("a fox --ar 2:3")


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("a {red, blue bird", "'{' at character 3 is never closed", 2),
        ("a {red {cat, dog} bird", "'{' at character 3 is never closed", 2),
        ("a {red} blue} bird", "'}' at character 13 has no matching '{'", 12),
        ("}", "'}' at character 1 has no matching '{'", 0),
        (r"a \{red}", "'}' at character 8 has no matching '{'", 7),
        ("a fox --r 41", "--repeat at character 7 needs a whole number from 1 to 40", 6),
        ("a fox --r 0", "from 1 to 40", 6),
        ("a fox --repeat", "needs a whole number from 1 to 40", 6),
        ("a fox --r --ar 1:1", "needs a whole number", 6),
        ("a fox --r two", "needs a whole number", 6),
        ("a fox --r {2, 3}", "needs a whole number", 6),
        ("a {fox --r 2, owl}", "--repeat at character 8 is inside { }", 7),
        ("a fox --r 2 --r 3", "--repeat is given twice (again at character 13)", 12),
    ],
)
def test_malformed_prompts_say_what_and_where(text, message, position):
    with pytest.raises(PermutationError) as caught:
        count_prompts(text)
    assert message in str(caught.value)
    assert caught.value.position == position
    assert isinstance(caught.value, ValueError)


def test_counting_never_expands_and_the_cap_refuses():
    huge = "a {b, c, d} " * 60  # 3 ** 60 prompts
    assert count_prompts(huge) == 3**60
    with pytest.raises(TooManyPrompts) as caught:
        expand(huge)
    assert caught.value.count == 3**60 and caught.value.limit == MAX_PROMPTS
    assert "at most 200" in str(caught.value)
    assert len(expand("{a, b} " * 7 + "--r 1")) == 128
    with pytest.raises(TooManyPrompts):
        expand("{a, b} " * 7 + "--r 2")  # 256 with the copies
    assert len(expand("{a, b, c}", limit=3)) == 3
    with pytest.raises(TooManyPrompts, match="makes 4 tasks"):
        expand("{a, b} --r 2", limit=3)


def test_a_plain_prompt_is_one_prompt():
    matrix = parse_matrix("a plain fox, in snow --ar 16:9")
    assert matrix.is_plain and matrix.group_sizes == () and matrix.count == 1
    assert expand_prompts("a plain fox, in snow --ar 16:9") == ["a plain fox, in snow --ar 16:9"]
    assert expand("a plain fox")[0].label == "a plain fox"
    assert expand_prompts("") == [""]
