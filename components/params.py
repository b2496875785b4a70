"""Parameter widgets of the mode pages, with the seed's defaults, ranges and tips."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import session
from components.plain import plain
from mjstudio.api import contract as c
from mjstudio.api.prompt import looks_like_edit_instruction, looks_non_english, parse_prompt

ASPECT_PRESETS = {
    "1:1": "1:1 · square: social posts, avatars",
    "4:3": "4:3 · classic photo, presentations",
    "3:2": "3:2 · 35 mm photo",
    "16:9": "16:9 · widescreen, video, banners",
    "9:16": "9:16 · mobile stories, vertical video",
    "custom": "Custom W:H",
}
VERSION_GUIDE = {
    "v6": "v6 (Dec 2023): longer prompts, image prompting and remix",
    "v6.1": "v6.1 (default): ~25% faster than v6, precise detail, for general use",
    "v7": "v7 (latest): best quality, anatomy, hands and textures",
    "niji 6": "niji 6: anime, better Japanese text",
    "niji 7": "niji 7 (latest anime): character control, rich stylisation",
}
SPEED_HELP = "fast: ~30–45 s · turbo: ~15–25 s, costs more · relax: slow, cheapest"
CHAOS_HELP = (
    "How different the four images are. 0–30 consistent, predictable (production); "
    "30–70 balanced variety; 70–100 maximum diversity, experimental."
)
STYLIZE_HELP = (
    "Realism versus artistry. 0–250 literal, realistic; 250–750 balanced (default 100); "
    "750–1000 highly artistic, creative interpretation."
)
WEIRD_HELP = (
    "Surreal, unconventional elements. 10–300 subtle unusual touches; 300–1000 noticeable "
    "non-traditional elements; 1000–3000 extreme surrealism and abstraction."
)
TRANSLATE_HELP = "Translate a non-English prompt to English first; English usually works better."
PROMPT_HELP = (
    "Describe the image. Midjourney flags such as --ar 16:9, --c 20, --s 250, --w 100, --v 7, "
    "--niji 6, --turbo are read into the fields. Ctrl+Enter generates."
)


def key(mode: str, name: str) -> str:
    """The session key of one parameter widget of a mode page."""
    return f"{mode}:{name}"


def _init(mode: str, name: str, default: Any) -> str:
    """Give a widget its default once and keep its value across page switches."""
    k = key(mode, name)
    st.session_state[k] = st.session_state.get(k, default)
    return k


def apply_prefill(mode: str) -> None:
    """Put "use these settings" values into a page's widgets before they are drawn."""
    values = session.take_prefill(mode)
    if not values:
        return
    for name, value in values.items():
        if name == "aspect":
            preset = value if value in ASPECT_PRESETS else "custom"
            st.session_state[key(mode, "aspect_preset")] = preset
            st.session_state[key(mode, "aspect_custom")] = "" if preset != "custom" else value
        else:
            st.session_state[key(mode, name)] = value


def prompt_box(
    mode: str, *, label: str = "Prompt", required: bool = True, height: int = 100
) -> str:
    """The prompt text area."""
    placeholder = "a lighthouse on a cliff at dusk, oil painting --ar 16:9"
    return st.text_area(
        label,
        key=_init(mode, "prompt", ""),
        height=height,
        help=PROMPT_HELP,
        placeholder=placeholder if required else "optional remix prompt",
    )


def version_speed(mode: str, cols: Any = None) -> dict[str, Any]:
    """Version and speed selectors."""
    left, right = cols or st.columns(2)
    version = left.selectbox(
        "Version",
        c.VERSIONS,
        key=_init(mode, "version", c.DEFAULT_VERSION),
        format_func=lambda v: VERSION_GUIDE[v],
        help="The Midjourney model. " + " · ".join(VERSION_GUIDE.values()),
    )
    speed = right.selectbox(
        "Speed", c.SPEEDS, key=_init(mode, "speed", c.DEFAULT_SPEED), help=SPEED_HELP
    )
    return {"version": version, "speed": speed}


def enhancements(mode: str) -> dict[str, Any]:
    """Aspect, chaos, stylize, weird and translation, with the seed's ranges and defaults."""
    aspect = _aspect(mode)
    chaos = st.slider(
        "Chaos", *c.CHAOS_RANGE, key=_init(mode, "chaos", c.DEFAULT_CHAOS), help=CHAOS_HELP
    )
    stylize = st.slider(
        "Stylize",
        *c.STYLIZE_RANGE,
        key=_init(mode, "stylize", c.DEFAULT_STYLIZE),
        help=STYLIZE_HELP,
    )
    weird = st.slider(
        "Weird", *c.WEIRD_RANGE, key=_init(mode, "weird", c.DEFAULT_WEIRD), help=WEIRD_HELP
    )
    translate = st.checkbox(
        "Translate prompt to English",
        key=_init(mode, "enableTranslation", c.DEFAULT_TRANSLATION),
        help=TRANSLATE_HELP,
    )
    return {
        "aspect": aspect,
        "chaos": chaos,
        "stylize": stylize,
        "weird": weird,
        "enableTranslation": translate,
    }


def _aspect(mode: str) -> str:
    """The aspect preset, or the custom W:H when Custom is chosen."""
    a, b = st.columns(2)
    preset = a.selectbox(
        "Aspect ratio",
        list(ASPECT_PRESETS),
        key=_init(mode, "aspect_preset", c.DEFAULT_ASPECT),
        format_func=ASPECT_PRESETS.get,
        help="Width:height of the images.",
    )
    custom = b.text_input(
        "Custom W:H",
        key=_init(mode, "aspect_custom", ""),
        placeholder="e.g. 21:9",
        help="Used when Aspect ratio is Custom: two positive whole numbers.",
    )
    return (custom.strip() or "custom") if preset == "custom" else preset


def read_prompt(text: str, fields: dict[str, Any]) -> tuple[str, dict[str, Any], list[str]]:
    """Move inline flags of a prompt into the fields; returns (prompt, fields, errors)."""
    parsed = parse_prompt(text or "")
    merged = {**fields, **parsed.params}
    if parsed.params:
        taken = ", ".join(f"{k}={v}" for k, v in parsed.params.items())
        st.toast(f"Read from the prompt: {plain(taken)}", icon=":material/tune:")
    return parsed.prompt, merged, list(parsed.errors)


def build(mode: str, **params: Any) -> c.AnyInput | None:
    """Validate a mode's input; shows the error and returns None when it is invalid."""
    try:
        return c.build_input(mode, **params)
    except c.InvalidRequest as exc:
        st.error(f"**{plain(exc.field)}** {plain(exc.message)}", icon=":material/error:")
        return None


def read_and_build(mode: str, text: str, fields: dict[str, Any], **extra: Any) -> c.AnyInput | None:
    """Inline flags into fields, then a validated input; errors are shown, None returned."""
    prompt, merged, errors = read_prompt(text, fields)
    for error in errors:
        st.error(plain(error), icon=":material/error:")
    if errors:
        return None
    if "prompt" in extra:
        extra["prompt"] = prompt or None
        return build(mode, **merged, **extra)
    return build(mode, prompt=prompt, **merged, **extra)


def advise(text: str, fields: dict[str, Any], *, edit_check: bool = False) -> None:
    """The seed's advice: describe the result, not an edit; translate non-English prompts."""
    if edit_check and looks_like_edit_instruction(text or ""):
        st.warning(
            "This prompt reads like an edit instruction. Image to image works best when "
            'you describe the result you want ("a dog lying in a park"), not the change '
            '("change the background to a park").',
            icon=":material/tips_and_updates:",
        )
    if looks_non_english(text or "") and not fields.get("enableTranslation"):
        st.info(
            "The prompt does not look English. Midjourney usually does better in English: "
            "tick “Translate prompt to English” under Parameters.",
            icon=":material/translate:",
        )
