"""Which characters the print fonts can draw, so that a character that would print as a box is refused
where it is typed (forms, the API, opinions) instead of being found in an issued document.

The print templates name Noto Serif CJK SC (which the reduced "Kexie Print Serif" faces are cut from)
and, for the rarer CJK extension blocks, HanaMinB from Debian's fonts-hanazono: it covers CJK Unified
Ideographs Extensions B to F completely (U+20000–U+2EBEF), where Noto Serif CJK SC has only 2,057 of
Extension B's 42,720 characters. What these faces' character maps hold is what may be typed; the
render itself refuses any PDF in which a glyph still came out missing (printing.render).

Only fontTools (already a WeasyPrint dependency) and fontconfig through ctypes are used; nothing here
imports WeasyPrint or Django models, so the approvals validation can ask it at import time.
"""
from __future__ import annotations

import bisect
import logging
import threading
import unicodedata

from .checks import CJK_FONT_FAMILY, FALLBACK_FAMILY, find_font_faces

logger = logging.getLogger(__name__)

#: The faces whose character maps make up what prints (see printing/templates/printing/base.html).
PRINT_FAMILIES = (CJK_FONT_FAMILY, FALLBACK_FAMILY)

# Characters that need no glyph: line breaks and tabs are laid out, not drawn; variation selectors and
# joiners are drawn as nothing by Pango (default-ignorable code points).
_NO_GLYPH_NEEDED = frozenset("\n\r\t\u00ad\u200b\u200c\u200d\u2060\ufeff")
_IGNORABLE_RANGES = ((0xFE00, 0xFE0F), (0xE0100, 0xE01EF))

_lock = threading.Lock()
_starts: list[int] | None = None
_ends: list[int] = []


def _ranges(codepoints: set[int]) -> tuple[list[int], list[int]]:
    starts, ends = [], []
    for codepoint in sorted(codepoints):
        if ends and codepoint == ends[-1] + 1:
            ends[-1] = codepoint
        else:
            starts.append(codepoint)
            ends.append(codepoint)
    return starts, ends


def _load() -> tuple[list[int], list[int]]:
    """The covered code points as sorted ranges (a few thousand), read once per process."""
    global _starts, _ends
    with _lock:
        if _starts is None:
            from fontTools.ttLib import TTFont

            codepoints: set[int] = set()
            for family in PRINT_FAMILIES:
                for face in find_font_faces(family) or []:
                    try:
                        font = TTFont(face.path, fontNumber=face.index, lazy=True)
                        codepoints.update(font.getBestCmap() or {})
                        font.close()
                    except Exception:  # noqa: BLE001 - an unreadable face only narrows what is accepted
                        logger.exception("Cannot read the character map of %s#%s", face.path, face.index)
            if not codepoints:
                logger.warning("No print font found (%s); typed characters cannot be checked",
                               ", ".join(PRINT_FAMILIES))
            _starts, _ends = _ranges(codepoints)
        return _starts, _ends


def coverage_known() -> bool:
    """Whether any print face was found (without one, nothing can be checked and PDF work is refused)."""
    return bool(_load()[0])


def is_printable(char: str) -> bool:
    """Whether ``char`` (one code point) prints with the print fonts, or needs no glyph at all."""
    if char in _NO_GLYPH_NEEDED:
        return True
    codepoint = ord(char)
    if any(first <= codepoint <= last for first, last in _IGNORABLE_RANGES):
        return True
    if unicodedata.category(char) in ("Cc", "Cs", "Cn"):
        return False
    starts, ends = _load()
    if not starts:
        return True  # no font to ask: PDF rendering refuses to run anyway (printing.checks)
    index = bisect.bisect_right(starts, codepoint) - 1
    return index >= 0 and codepoint <= ends[index]


def unprintable_characters(text: str) -> list[str]:
    """The distinct characters of ``text`` that the print fonts cannot draw, in order of appearance."""
    found: list[str] = []
    for char in dict.fromkeys(text or ""):
        # The common case (GB 2312 text, ASCII) is answered without the character maps only for ASCII
        # letters and digits, which every print face has.
        if char.isascii() and char.isprintable():
            continue
        if not is_printable(char):
            found.append(char)
    return found


def describe(char: str) -> str:
    """How a refused character is named to the user: the character itself (when it is visible) and its
    code point, e.g. “𪚥”（U+2A6A5）; an invisible control character by its code point only."""
    code = f"U+{ord(char):04X}"
    if unicodedata.category(char) in ("Cc", "Cs", "Cf", "Zl", "Zp"):
        return code
    return f"“{char}”（{code}）"
