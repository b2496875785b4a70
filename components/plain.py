"""Show user- and provider-supplied strings as plain text, never as Markdown.

Streamlit's ``st.markdown``, ``st.caption``, alerts and toasts parse Markdown plus its own
directives (``:red[...]``, ``$...$`` LaTeX, ``![](url)`` images a viewer's browser would fetch).
Prompts, fail messages, errors, file names and task ids come from users and providers: pass
them through ``plain`` before mixing them into such text, or show them with ``st.text``.
"""

from __future__ import annotations

import re
import string

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
_LINE_BREAKS = re.compile(r"[\r\n]+")
# Where GitHub's autolink literals start (scheme "http:", "www.", "name@host"): escapes don't
# stop them, an invisible word joiner does.
_AUTOLINKS = re.compile(r"(?<=[A-Za-z])(?=:)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def plain(text: object) -> str:
    """The text with every ASCII punctuation backslash-escaped: Markdown shows it literally.

    CommonMark lets any ASCII punctuation be escaped, so emphasis, links, images, code, HTML,
    LaTeX (``$``) and Streamlit's ``:color[...]`` directives all lose their meaning; a word
    joiner keeps bare URLs and e-mail addresses from becoming links. Line breaks become
    spaces.
    """
    flat = _AUTOLINKS.sub(WORD_JOINER, _LINE_BREAKS.sub(" ", str(text)))
    return _PUNCTUATION.sub(r"\\\1", flat)
