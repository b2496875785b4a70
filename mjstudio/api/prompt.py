"""Inline Midjourney flags (--ar, --c, --s, --w, --v, --niji, --fast ...) <-> request fields.

Flags the API has a field for are taken out of the prompt and returned as parameters; every
other flag (``--no``, ``--seed``, ``--style raw`` ...) stays in the prompt as written.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from mjstudio.api.contract import (
    CHAOS_RANGE,
    DEFAULT_ASPECT,
    DEFAULT_SPEED,
    DEFAULT_VERSION,
    SPEEDS,
    STYLIZE_RANGE,
    VERSIONS,
    WEIRD_RANGE,
    TextToImage,
    parse_aspect,
)

FIELD_OF_FLAG = {
    "ar": "aspect",
    "aspect": "aspect",
    "c": "chaos",
    "chaos": "chaos",
    "s": "stylize",
    "stylize": "stylize",
    "w": "weird",
    "weird": "weird",
    "v": "version",
    "version": "version",
    "niji": "version",
    **{speed: "speed" for speed in SPEEDS},
}
RANGES = {"chaos": CHAOS_RANGE, "stylize": STYLIZE_RANGE, "weird": WEIRD_RANGE}
DEFAULTS: dict[str, Any] = {
    "aspect": DEFAULT_ASPECT,
    "chaos": TextToImage.model_fields["chaos"].default,
    "stylize": TextToImage.model_fields["stylize"].default,
    "weird": TextToImage.model_fields["weird"].default,
    "version": DEFAULT_VERSION,
    "speed": DEFAULT_SPEED,
}
EXAMPLES = {"aspect": "16:9", "chaos": "20", "stylize": "250", "weird": "100", "version": "7"}
NIJI_VERSIONS = [v.split()[1] for v in VERSIONS if v.startswith("niji ")]
NEWEST_NIJI = "niji " + max(NIJI_VERSIONS, key=lambda n: tuple(map(int, n.split("."))))

_FLAG_RE = re.compile(r"^(?:--|—|–)([A-Za-z]+)$")  # "—ar": phones turn "--" into an em dash
_FLAG_START_RE = re.compile(r"^(?:--|—|–)[A-Za-z]")
_NUMBER_RE = re.compile(r"^[+-]?\d+$")
_NIJI_VALUE_RE = re.compile(r"^\d+(?:\.\d+)?$")


@dataclass
class ParsedPrompt:
    """A prompt split into its text, the API fields its flags set, and what was wrong."""

    prompt: str
    params: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every recognised flag was valid."""
        return not self.errors


def _value_of(field_name: str, flag: str, raw: str) -> Any:
    """The field value a flag's raw value gives; ValueError with a user-facing message."""
    if field_name == "aspect":
        try:
            width, height = parse_aspect(raw)
        except ValueError:
            raise ValueError("aspect must be W:H with positive whole numbers (e.g. 16:9)") from None
        return f"{width}:{height}"
    if field_name in RANGES:
        lo, hi = RANGES[field_name]
        if not _NUMBER_RE.match(raw):
            raise ValueError(f"{field_name} must be a whole number from {lo} to {hi}")
        if not lo <= int(raw) <= hi:
            raise ValueError(f"{field_name} must be from {lo} to {hi}")
        return int(raw)
    return _version_of(flag, raw)


def _version_of(flag: str, raw: str) -> str:
    number = raw.lower().removeprefix("v")
    number = number[:-2] if number.endswith(".0") else number
    if flag == "niji":
        if raw == "":
            return NEWEST_NIJI
        if number in NIJI_VERSIONS:
            return f"niji {number}"
        raise ValueError(f"niji version must be one of {', '.join(NIJI_VERSIONS)}")
    if f"v{number}" in VERSIONS:
        return f"v{number}"
    raise ValueError(f"version must be one of {', '.join(VERSIONS)}")


def _takes_value(flag: str, following: str | None) -> bool:
    """Whether the token after a flag is its value."""
    if flag in SPEEDS or following is None or _FLAG_START_RE.match(following):
        return False
    if flag == "niji":  # the number is optional: "--niji" alone means the newest
        return bool(_NIJI_VALUE_RE.match(following.rstrip(",;")))
    return True


def _tidy(tokens: list[str]) -> str:
    return re.sub(r"\s+,", ",", " ".join(tokens)).strip()


def parse_prompt(text: str) -> ParsedPrompt:
    """Take the flags the API has fields for out of a prompt; others stay as written."""
    tokens = (text or "").split()
    kept: list[str] = []
    result = ParsedPrompt(prompt="")
    i = 0
    while i < len(tokens):
        match = _FLAG_RE.match(tokens[i])
        flag = match.group(1).lower() if match else ""
        if flag not in FIELD_OF_FLAG:
            kept.append(tokens[i])
            i += 1
            continue
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        has_value = _takes_value(flag, following)
        raw = following.rstrip(",;") if has_value and following else ""
        _apply(result, flag, raw, has_value)
        i += 2 if has_value else 1
    result.prompt = _tidy(kept)
    return result


def _apply(result: ParsedPrompt, flag: str, raw: str, has_value: bool) -> None:
    """Record one recognised flag's field, or the error that keeps it out."""
    field_name = FIELD_OF_FLAG[flag]
    shown = f"--{flag} {raw}".rstrip()
    if field_name == "speed":
        value: Any = flag
    elif not has_value and flag != "niji":
        example = EXAMPLES[field_name]
        result.errors.append(f"--{flag} needs a value, e.g. --{flag} {example}")
        return
    else:
        try:
            value = _value_of(field_name, flag, raw)
        except ValueError as exc:
            result.errors.append(f"{shown}: {exc}")
            return
    earlier = result.params.get(field_name)
    if earlier is not None and earlier != value:
        result.errors.append(f"{shown}: {field_name} is already set to {earlier}")
        return
    result.params[field_name] = value


def _flag_for(name: str, value: Any) -> str:
    if name == "aspect":
        return f"--ar {value}"
    if name == "speed":
        return f"--{value}"
    if name == "version":
        text = str(value)
        return f"--niji {text.split()[1]}" if text.startswith("niji ") else f"--v {text[1:]}"
    short = {"chaos": "c", "stylize": "s", "weird": "w"}[name]
    return f"--{short} {value}"


def format_flags(params: dict[str, Any], *, defaults: bool = False) -> str:
    """The flags for the fields in ``params`` (others ignored), leaving out default values."""
    flags = []
    for name, default in DEFAULTS.items():
        value = params.get(name)
        if value is None or (value == default and not defaults):
            continue
        flags.append(_flag_for(name, value))
    return " ".join(flags)


def with_flags(prompt: str, params: dict[str, Any]) -> str:
    """A prompt followed by the flags of its parameters, for "copy prompt"."""
    return " ".join(part for part in (prompt.strip(), format_flags(params)) if part)


# --------------------------------------------------------------------------- prompt advice

_POLITE = re.compile(
    r"^(?:(?:please|pls|now|then|and|also|just|ok|okay|can you|could you|would you|will you"
    r"|i want you to|i'd like you to|i would like you to|i want to|let's)\s+)+"
)
_END = r"(?![\w'-])"
_PRONOUN = r"(?:it|its|him|her|his|them|their|this|that|these|those|the|everything|my)"
_EDIT_RE = re.compile(
    "^(?:"
    + "|".join(
        [
            rf"(?:change|switch|swap){_END}(?! of{_END})",
            rf"(?:make|turn|color|colour) {_PRONOUN}{_END}",
            rf"(?:remove|delete|erase|eliminate|replace|add|insert|recolou?r|retouch){_END}",
            rf"(?:edit|modify|fix|adjust|repaint|redraw|convert|transform) {_PRONOUN}{_END}",
            rf"(?:get rid of|take (?:out|away|off)){_END}",
            rf"(?:put|place) (?:a|an|the|some){_END}.*{_END} (?:on|in|into|onto|behind){_END}",
            rf"give {_PRONOUN}{_END}",
        ]
    )
    + ")"
)
_CLAUSE_SPLIT = re.compile(r"[.!?;:,\n]+")


def looks_like_edit_instruction(prompt: str) -> bool:
    """True when the prompt asks for an edit ("make it blue") instead of describing a result."""
    for clause in _CLAUSE_SPLIT.split((prompt or "").lower()):
        words = " ".join(clause.replace("’", "'").split())
        if _EDIT_RE.match(_POLITE.sub("", words)):
            return True
    return False


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ENGLISH = _words(
    "the a an of with and in on at by for from to is are under over his her their its into"
    " wearing holding near behind while who which"
)
_FOREIGN = _words(
    "le la les un une des du de et avec dans sur est aux sous très qui pour"  # French
    " el los las una y con del en por para que muy sobre"  # Spanish
    " der das und mit ein eine im auf von ist dem unter einem einer"  # German
    " il gli della nel sul degli delle che"  # Italian
    " os um uma com em na da dos muito"  # Portuguese
    " het een op van zijn"  # Dutch
)


def looks_non_english(prompt: str) -> bool:
    """A rough guess that a prompt is not English (to suggest enableTranslation)."""
    text = unicodedata.normalize("NFC", prompt or "")
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    non_latin = sum(not unicodedata.name(c, "").startswith("LATIN") for c in letters)
    if non_latin / len(letters) >= 0.3:
        return True
    accented = sum(ord(c) > 127 for c in letters) - non_latin
    if accented >= 3 and accented / len(letters) >= 0.2:
        return True
    words = re.findall(r"[^\W\d_]+", text.lower())
    foreign = sum(w in _FOREIGN for w in words)
    english = sum(w in _ENGLISH for w in words)
    return foreign >= 2 and foreign > english
