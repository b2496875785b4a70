"""Midjourney's permutation prompts: ``a {red, blue} bird --ar {1:1, 16:9}`` -> one prompt each.

Each ``{...}`` group holds options separated by commas; a prompt expands to one prompt per
combination, the first group varying slowest (as Midjourney orders them). Groups nest
(``a {red {cat, dog}, blue bird}``), options may be empty (``a {, big} cat``) and may hold
flags (``--ar {1:1, 16:9}``: :func:`mjstudio.api.prompt.parse_prompt` turns them into fields
afterwards). ``\\{``, ``\\}`` and ``\\,`` stand for the characters themselves. Commas outside
braces are plain text. ``--repeat N`` / ``--r N`` (outside braces, N from 1 to 40) sends N
copies of each prompt and is taken out of them. Whitespace is tidied in every result.

:func:`count_prompts` counts without expanding (a million combinations cost nothing to count);
:func:`expand` refuses more than :data:`MAX_PROMPTS` prompts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from itertools import product

REPEAT_RANGE = (1, 40)  # Midjourney's --repeat accepts 1 to 40 (fewer on some plans)
MAX_PROMPTS = 200  # the hard cap of one expansion, repeats included
ESCAPABLE = "{},"

_REPEAT_RE = re.compile(r"(?<!\S)(?:--|—|–)(?:repeat|r)(?=\s|$)", re.IGNORECASE)
_VALUE_RE = re.compile(r"\s+(\S+)")
_FLAG_START_RE = re.compile(r"^(?:--|—|–)[A-Za-z]")
_SPACES_RE = re.compile(r"\s+")
_SPACE_COMMA_RE = re.compile(r" ,")


class PermutationError(ValueError):
    """A permutation prompt that cannot be expanded; the message is for the designer."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position  # 0-based index into the prompt as typed (None: no one place)


class TooManyPrompts(PermutationError):
    """The prompt expands to more prompts than the cap allows."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(
            f"this prompt makes {count:,} tasks; at most {limit} can be sent at once"
            " (use fewer options or a smaller --repeat)"
        )
        self.count = count
        self.limit = limit


@dataclass
class _Group:
    """One ``{...}``: its options, each a sequence of text and groups."""

    start: int
    options: list[list[str | _Group]]


Parts = list["str | _Group"]


@dataclass(frozen=True)
class Expansion:
    """One prompt of an expansion: its text, the option chosen in each top-level group, copy."""

    prompt: str
    choices: tuple[str, ...]  # the tidied text of each top-level group's option, in order
    combination: int  # 0-based index of the combination (the same for every copy of it)
    copy: int = 0  # 0-based copy number under --repeat

    @property
    def label(self) -> str:
        """The choices joined, for a caption (the prompt when it has no groups)."""
        return " · ".join(choice or "(none)" for choice in self.choices) or self.prompt


@dataclass(frozen=True)
class Matrix:
    """A parsed permutation prompt: its groups' sizes and --repeat, ready to count or expand."""

    text: str  # the prompt as typed
    body: Parts  # the parsed prompt, --repeat taken out
    repeat: int
    group_sizes: tuple[int, ...]  # prompts each top-level group contributes (nested counted)

    @property
    def combinations(self) -> int:
        """Prompts before --repeat: the product of the top-level groups' sizes."""
        return math.prod(self.group_sizes)

    @property
    def count(self) -> int:
        """Tasks this prompt makes: combinations times --repeat."""
        return self.combinations * self.repeat

    @property
    def is_plain(self) -> bool:
        """True when it makes one task (no group with several options, no --repeat)."""
        return self.count == 1

    def expand(self, limit: int = MAX_PROMPTS) -> list[Expansion]:
        """Every prompt, first group slowest, copies of one prompt together; TooManyPrompts."""
        if self.count > limit:
            raise TooManyPrompts(self.count, limit)
        per_part = [_top_choices(part) for part in self.body]
        found: list[Expansion] = []
        for number, combo in enumerate(product(*per_part)):
            prompt = tidy("".join(text for text, _ in combo))
            choices = tuple(label for _, label in combo if label is not None)
            found += [Expansion(prompt, choices, number, copy) for copy in range(self.repeat)]
        return found


# ------------------------------------------------------------------------------- public helpers


def tidy(text: str) -> str:
    """Whitespace runs made one space, none before a comma, none at either end."""
    return _SPACE_COMMA_RE.sub(",", _SPACES_RE.sub(" ", text)).strip()


def parse_matrix(text: str) -> Matrix:
    """Parse a permutation prompt; PermutationError (naming the position) when it is malformed."""
    text = text or ""
    _parse(text)  # brace errors first, at their positions in the prompt as typed
    repeat, blanked = _take_repeat(text)
    body = _parse(blanked)
    sizes = tuple(_count_group(part) for part in body if isinstance(part, _Group))
    return Matrix(text=text, body=body, repeat=repeat, group_sizes=sizes)


def count_prompts(text: str) -> int:
    """How many tasks a prompt makes (combinations times --repeat), without expanding it."""
    return parse_matrix(text).count


def expand(text: str, *, limit: int = MAX_PROMPTS) -> list[Expansion]:
    """Every prompt a permutation prompt makes, with copies; TooManyPrompts past ``limit``."""
    return parse_matrix(text).expand(limit)


def expand_prompts(text: str, *, limit: int = MAX_PROMPTS) -> list[str]:
    """The prompt texts alone, in order, one per task (copies included)."""
    return [expansion.prompt for expansion in expand(text, limit=limit)]


def has_permutations(text: str) -> bool:
    """True when a prompt uses the syntax at all: an unescaped brace or a --repeat flag."""
    return any(ch in "{}" for ch in _unescaped(text or "")) or bool(_REPEAT_RE.search(text or ""))


# ------------------------------------------------------------------------------- parsing


def _unescaped(text: str) -> str:
    """The text with every escaped character (``\\{`` ...) replaced by a space."""
    return re.sub(r"\\[{},]", "  ", text)


def _parse(text: str) -> Parts:
    """The prompt as a sequence of text and groups; PermutationError for unbalanced braces."""
    root: Parts = []
    stack: list[tuple[_Group, Parts]] = []  # open groups, with the sequence holding each
    current, buf, i = root, [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and text[i + 1 : i + 2] in tuple(ESCAPABLE):
            buf.append(text[i + 1])
            i += 2
            continue
        if ch == "{":
            group = _Group(i, [[]])
            _flush(current, buf).append(group)
            stack.append((group, current))
            current = group.options[-1]
        elif ch == "}" and stack:
            _flush(current, buf)
            current = stack.pop()[1]
        elif ch == "}":
            raise PermutationError(f"'}}' at character {i + 1} has no matching '{{'", i)
        elif ch == "," and stack:
            _flush(current, buf)
            stack[-1][0].options.append([])
            current = stack[-1][0].options[-1]
        else:
            buf.append(ch)
        i += 1
    if stack:
        start = stack[-1][0].start
        raise PermutationError(f"'{{' at character {start + 1} is never closed (add a '}}')", start)
    _flush(current, buf)
    return root


def _flush(sequence: Parts, buf: list[str]) -> Parts:
    """Move the collected characters into the sequence as one text part."""
    if buf:
        sequence.append("".join(buf))
        buf.clear()
    return sequence


def _depth_at(text: str, position: int) -> int:
    """How many groups are open at a position of the prompt (escaped braces not counted)."""
    plain = _unescaped(text[:position])
    return plain.count("{") - plain.count("}")


def _take_repeat(text: str) -> tuple[int, str]:
    """(--repeat's number, the prompt with the flag and its value blanked out)."""
    found = list(_REPEAT_RE.finditer(text))
    if not found:
        return 1, text
    flag = found[0]
    if len(found) > 1:
        at = found[1].start()
        raise PermutationError(f"--repeat is given twice (again at character {at + 1})", at)
    if _depth_at(text, flag.start()):
        raise PermutationError(
            f"--repeat at character {flag.start() + 1} is inside {{ }}: put it outside the braces",
            flag.start(),
        )
    value = _VALUE_RE.match(text, flag.end())
    raw = value.group(1) if value and not _FLAG_START_RE.match(value.group(1)) else ""
    lo, hi = REPEAT_RANGE
    if not (raw.isdigit() and lo <= int(raw) <= hi):
        raise PermutationError(
            f"--repeat at character {flag.start() + 1} needs a whole number from {lo} to {hi}",
            flag.start(),
        )
    end = value.end() if value else flag.end()
    return int(raw), text[: flag.start()] + " " * (end - flag.start()) + text[end:]


# ------------------------------------------------------------------------------- counting


def _count_sequence(sequence: Parts) -> int:
    return math.prod(_count_group(part) for part in sequence if isinstance(part, _Group))


def _count_group(group: _Group) -> int:
    return sum(_count_sequence(option) for option in group.options)


# ------------------------------------------------------------------------------- expanding


def _texts(part: str | _Group) -> list[str]:
    """Every text one part stands for (a group: each option's texts in turn)."""
    if isinstance(part, str):
        return [part]
    return [text for option in part.options for text in _sequence_texts(option)]


def _sequence_texts(sequence: Parts) -> list[str]:
    return ["".join(combo) for combo in product(*(_texts(part) for part in sequence))]


def _top_choices(part: str | _Group) -> list[tuple[str, str | None]]:
    """(text, label) for each choice of a top-level part; plain text has no label."""
    if isinstance(part, str):
        return [(part, None)]
    return [(text, tidy(text)) for text in _texts(part)]
