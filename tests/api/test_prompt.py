"""Inline Midjourney flags <-> request fields, and the prompt advice heuristics."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mjstudio.api.contract import (
    CHAOS_RANGE,
    DEFAULT_VERSION,
    SPEEDS,
    STYLIZE_RANGE,
    VERSIONS,
    WEIRD_RANGE,
    build_input,
)
from mjstudio.api.prompt import (
    DEFAULTS,
    format_flags,
    looks_like_edit_instruction,
    looks_non_english,
    parse_prompt,
    with_flags,
)

# --------------------------------------------------------------------------- parse_prompt


def test_all_flags_become_fields() -> None:
    parsed = parse_prompt("a red fox in snow --ar 16:9 --c 20 --s 250 --w 100 --v 7 --turbo")
    assert parsed.prompt == "a red fox in snow"
    assert parsed.params == {
        "aspect": "16:9",
        "chaos": 20,
        "stylize": 250,
        "weird": 100,
        "version": "v7",
        "speed": "turbo",
    }
    assert parsed.errors == [] and parsed.ok
    build_input("text-to-image", prompt=parsed.prompt, **parsed.params)  # the API accepts them


@pytest.mark.parametrize(
    ("text", "params"),
    [
        ("x --aspect 2:3", {"aspect": "2:3"}),
        ("x --chaos 100", {"chaos": 100}),
        ("x --stylize 0", {"stylize": 0}),
        ("x --weird 3000", {"weird": 3000}),
        ("x --version 6.1", {"version": "v6.1"}),
        ("x --v 6", {"version": "v6"}),
        ("x --v 6.1", {"version": "v6.1"}),
        ("x --v 7.0", {"version": "v7"}),
        ("x --niji 6", {"version": "niji 6"}),
        ("x --niji 7", {"version": "niji 7"}),
        ("x --niji", {"version": "niji 7"}),
        ("x --niji --ar 1:2", {"version": "niji 7", "aspect": "1:2"}),
        ("x --fast", {"speed": "fast"}),
        ("x --relax", {"speed": "relax"}),
        (
            "x --AR 4:3 --Chaos 5 --V 7 --TURBO",
            {"aspect": "4:3", "chaos": 5, "version": "v7", "speed": "turbo"},
        ),
        ("x —ar 9:16 —s 50", {"aspect": "9:16", "stylize": 50}),  # em dash, as phones type it
        ("x –c 10", {"chaos": 10}),  # en dash
        ("x --ar 16:9, --s 300", {"aspect": "16:9", "stylize": 300}),
    ],
)
def test_flag_spellings(text: str, params: dict) -> None:
    parsed = parse_prompt(text)
    assert (parsed.prompt, parsed.params, parsed.errors) == ("x", params, [])


def test_newest_niji_comes_from_the_contract() -> None:
    nijis = [v for v in VERSIONS if v.startswith("niji")]
    assert parse_prompt("--niji").params["version"] == max(nijis, key=lambda v: float(v[5:]))


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("cat --chaos 150", "--chaos 150: chaos must be from 0 to 100"),
        ("cat --c -5", "--c -5: chaos must be from 0 to 100"),
        ("cat --s 1001", "--s 1001: stylize must be from 0 to 1000"),
        ("cat --w 3001", "--w 3001: weird must be from 0 to 3000"),
        ("cat --s high", "--s high: stylize must be a whole number from 0 to 1000"),
        ("cat --c 2.5", "--c 2.5: chaos must be a whole number from 0 to 100"),
        ("cat --v 5", "--v 5: version must be one of v6, v6.1, v7, niji 6, niji 7"),
        ("cat --v 5.2", "--v 5.2: version must be one of v6, v6.1, v7, niji 6, niji 7"),
        ("cat --niji 5", "--niji 5: niji version must be one of 6, 7"),
        ("cat --ar 16x9", "--ar 16x9: aspect must be W:H with positive whole numbers (e.g. 16:9)"),
        ("cat --ar 0:1", "--ar 0:1: aspect must be W:H with positive whole numbers (e.g. 16:9)"),
        ("cat --ar", "--ar needs a value, e.g. --ar 16:9"),
        ("cat --v --fast", "--v needs a value, e.g. --v 7"),
    ],
)
def test_bad_values_are_reported_and_removed(text: str, error: str) -> None:
    parsed = parse_prompt(text)
    assert parsed.errors == [error] and not parsed.ok
    assert parsed.prompt == "cat"
    assert set(parsed.params) <= {"speed"}


def test_a_bad_flag_does_not_spoil_the_others() -> None:
    parsed = parse_prompt("city at night --ar 21:9 --c 500 --s 80")
    assert parsed.params == {"aspect": "21:9", "stylize": 80}
    assert parsed.errors == ["--c 500: chaos must be from 0 to 100"]
    assert parsed.prompt == "city at night"


def test_conflicting_duplicates_keep_the_first() -> None:
    parsed = parse_prompt("x --ar 16:9 --ar 1:1 --v 7 --niji 6 --fast --relax --s 10 --s 10")
    assert parsed.params == {"aspect": "16:9", "version": "v7", "speed": "fast", "stylize": 10}
    assert parsed.errors == [
        "--ar 1:1: aspect is already set to 16:9",
        "--niji 6: version is already set to v7",
        "--relax: speed is already set to fast",
    ]
    assert parsed.prompt == "x"


@pytest.mark.parametrize(
    "text",
    [
        "a street --no cars",
        "a street --seed 5",
        "a tiled floor --tile",
        "a portrait --q 2",
        "a portrait --style raw",
        "a portrait --iw 2",
        "a portrait --sref https://example.com/ref.png --sw 200",
        "a portrait --cref https://x.test/a.png --cw 50 --stop 80 --repeat 2",
        "a mural —no people",
        "a cat --stylized 5 --sv 4 --version7",
    ],
)
def test_unknown_flags_stay_untouched(text: str) -> None:
    parsed = parse_prompt(text)
    assert parsed.prompt == text and parsed.params == {} and parsed.errors == []


def test_unknown_flags_stay_while_known_ones_go() -> None:
    parsed = parse_prompt(
        "  knight,  castle --no  dragons --ar 3:2 --style raw --s 400  --seed 42 "
    )
    assert parsed.prompt == "knight, castle --no dragons --style raw --seed 42"
    assert parsed.params == {"aspect": "3:2", "stylize": 400}


def test_flag_lookalikes_in_words_and_urls_are_text() -> None:
    text = "the well--ar trail, see https://x.test/a--c--s, and a c-section"
    assert parse_prompt(text).prompt == text and parse_prompt(text).params == {}


def test_whitespace_is_tidied() -> None:
    assert (
        parse_prompt("a cat\n\n  on a mat --ar 1:1 , at dawn").prompt == "a cat on a mat, at dawn"
    )
    assert parse_prompt("").prompt == "" and parse_prompt("--fast").prompt == ""


# --------------------------------------------------------------------------- format_flags


def test_format_flags_example_and_defaults() -> None:
    params = {"aspect": "16:9", "chaos": 20, "stylize": 250, "version": "v7", "speed": "turbo"}
    assert format_flags(params) == "--ar 16:9 --c 20 --s 250 --v 7 --turbo"
    assert format_flags(dict(DEFAULTS)) == ""
    assert format_flags({"version": "niji 6", "weird": 5, "prompt": "ignored"}) == "--w 5 --niji 6"
    everything = format_flags(dict(DEFAULTS), defaults=True)
    assert everything == f"--ar 1:1 --c 0 --s 100 --w 0 --v {DEFAULT_VERSION[1:]} --fast"
    assert with_flags(" a cat ", {"chaos": 3}) == "a cat --c 3"
    assert with_flags("a cat", {}) == "a cat"


aspects = st.tuples(st.integers(1, 99_999), st.integers(1, 99_999)).map(lambda p: f"{p[0]}:{p[1]}")
field_values = st.fixed_dictionaries(
    {},
    optional={
        "aspect": aspects,
        "chaos": st.integers(*CHAOS_RANGE),
        "stylize": st.integers(*STYLIZE_RANGE),
        "weird": st.integers(*WEIRD_RANGE),
        "version": st.sampled_from(VERSIONS),
        "speed": st.sampled_from(SPEEDS),
    },
)
plain_words = st.lists(
    st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=8), max_size=6
).map(" ".join)


@given(field_values, plain_words)
def test_format_then_parse_round_trips(params: dict, words: str) -> None:
    parsed = parse_prompt(with_flags(words, params))
    expected = {k: v for k, v in params.items() if v != DEFAULTS[k]}
    assert parsed.params == expected and parsed.errors == []
    assert parsed.prompt == words.strip()
    assert parse_prompt(format_flags(params, defaults=True)).params == params


flag_soup = st.lists(
    st.one_of(
        st.sampled_from(["--ar", "—ar", "--c", "--s", "--w", "--v", "--niji", "--fast", "--no"]),
        st.sampled_from(["16:9", "0:3", "7", "6.1", "150", "-1", "x", ",", "--", "—"]),
        st.text(max_size=6),
    ),
    max_size=12,
).map(" ".join)


@given(flag_soup)
def test_parse_never_crashes_and_keeps_fields_valid(text: str) -> None:
    parsed = parse_prompt(text)
    assert isinstance(parsed.prompt, str) and parsed.prompt == parsed.prompt.strip()
    if parsed.params:
        build_input("text-to-image", prompt="p", **parsed.params)


# --------------------------------------------------------------------------- advice


@pytest.mark.parametrize(
    "text",
    [
        "change the background to a park",
        "Make it blue",
        "remove the car",
        "replace the sky with a starry night",
        "turn it into a watercolor painting",
        "add a hat to the dog",
        "Please change her dress to red",
        "can you remove the people in the back?",
        "a dog in a park. Now make it blue",
        "a cat on a sofa; delete the lamp",
        "portrait of a woman, get rid of the glasses",
        "Swap the cat for a dog",
        "put a crown on the king",
        "give him a beard",
        "make the sky darker",
        "I’d like you to erase the logo",
    ],
)
def test_edit_instructions_are_spotted(text: str) -> None:
    assert looks_like_edit_instruction(text)


@pytest.mark.parametrize(
    "text",
    [
        "a dog lying in a park",
        "a blue car on a rainy street",
        "a man making bread in a bakery",
        "the change of seasons in a forest",
        "change of guard at the palace",
        "colorful make-up on a model, studio light",
        "an old house with a removable roof",
        "replacement parts on a workbench",
        "a turn in the road, autumn",
        "turning leaves in the wind",
        "add-on module on a desk",
        "the addams family mansion",
        "",
    ],
)
def test_descriptions_are_not_edit_instructions(text: str) -> None:
    assert not looks_like_edit_instruction(text)


@pytest.mark.parametrize(
    "text",
    [
        "一只在公园里躺着的狗",
        "夕焼けの海辺を歩く猫",
        "собака в парке на закате",
        "un chat noir sur la table",
        "ein Hund mit einem Hut im Park",
        "un perro con sombrero en el parque",
        "một con mèo trên bãi biển",
        "강아지가 공원에서 놀고 있다",
    ],
)
def test_non_english_is_spotted(text: str) -> None:
    assert looks_non_english(text)


@pytest.mark.parametrize(
    "text",
    [
        "a dog lying in a park",
        "a café on a rainy street in Paris",
        "crème brûlée on a marble table, soft light",
        "cyberpunk city, neon lights, rain, 8k, cinematic",
        "a street in Los Angeles at night",
        "a portrait in the style of Leonardo da Vinci",
        "Pokémon cards on a table --ar 3:2",
        "1234 5678",
        "",
    ],
)
def test_english_is_not_flagged(text: str) -> None:
    assert not looks_non_english(text)
