"""System checks for PDF rendering prerequisites.

WeasyPrint runs without ``libharfbuzz-subset`` but then subsets fonts with fontTools: one Chinese
certificate takes about 11 s instead of about 0.1 s (FIELD-NOTES, WeasyPrint 70). Without a Noto CJK
serif face the certificate prints with whatever fontconfig substitutes, or with empty boxes. Both are
reported as Django system check errors, and :func:`require_pdf_support` refuses PDF work outright.

Nothing here imports WeasyPrint: checks run in every management command, including the parent of a
prefork worker, and only ``ctypes`` is needed to see whether the libraries are present.
"""
from __future__ import annotations

import ctypes
import os
import threading
from ctypes.util import find_library
from dataclasses import dataclass

from django.core import checks

INSTALL_HINT = "apt-get install libharfbuzz-subset0 fonts-noto-cjk fonts-hanazono"

#: The one CJK face the print templates use (see printing/templates/printing/base.html).
CJK_FONT_FAMILY = "Noto Serif CJK SC"
#: The face for CJK Extensions B-F that Noto lacks (Debian's fonts-hanazono), see printing/glyphs.py.
FALLBACK_FAMILY = "HanaMinB"

# WeasyPrint only uses libharfbuzz-subset when HarfBuzz is at least this version.
_MIN_HARFBUZZ = (4, 1, 0)

_HARFBUZZ_SUBSET_NAMES = ("libharfbuzz-subset.so.0", "libharfbuzz-subset.0.dylib", "libharfbuzz-subset-0.dll")
_HARFBUZZ_NAMES = ("libharfbuzz.so.0", "libharfbuzz.0.dylib", "libharfbuzz-0.dll")
_FONTCONFIG_NAMES = ("libfontconfig.so.1", "libfontconfig.1.dylib", "libfontconfig-1.dll")


def _load_library(short_name: str, fallbacks: tuple[str, ...]) -> ctypes.CDLL | None:
    """Load a shared library by ``find_library`` name first, then by the names WeasyPrint tries."""
    found = find_library(short_name)
    for name in ([found] if found else []) + list(fallbacks):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def _harfbuzz_problem() -> str | None:
    """Return why HarfBuzz subsetting is unavailable, or None when it is usable."""
    if _load_library("harfbuzz-subset", _HARFBUZZ_SUBSET_NAMES) is None:
        return "libharfbuzz-subset not found"
    harfbuzz = _load_library("harfbuzz", _HARFBUZZ_NAMES)
    if harfbuzz is None:
        return "libharfbuzz not found"
    try:
        atleast = harfbuzz.hb_version_atleast
    except AttributeError:
        return "libharfbuzz is too old (no hb_version_atleast)"
    atleast.argtypes = [ctypes.c_uint, ctypes.c_uint, ctypes.c_uint]
    atleast.restype = ctypes.c_int
    if not atleast(*_MIN_HARFBUZZ):
        return "HarfBuzz older than " + ".".join(map(str, _MIN_HARFBUZZ))
    return None


class _FcFontSet(ctypes.Structure):
    _fields_ = [("nfont", ctypes.c_int), ("sfont", ctypes.c_int), ("fonts", ctypes.POINTER(ctypes.c_void_p))]


@dataclass(frozen=True)
class FontFace:
    """One installed face: file, index inside a .ttc collection, fontconfig weight (80 regular, 200 bold)."""

    path: str
    index: int
    weight: int


def find_font_faces(family: str) -> list[FontFace] | None:
    """The faces fontconfig lists for ``family``; None when fontconfig itself is missing."""
    fc = _load_library("fontconfig", _FONTCONFIG_NAMES)
    if fc is None:
        return None
    fc.FcInitLoadConfigAndFonts.restype = ctypes.c_void_p
    fc.FcNameParse.argtypes = [ctypes.c_char_p]
    fc.FcNameParse.restype = ctypes.c_void_p
    fc.FcObjectSetBuild.restype = ctypes.c_void_p
    fc.FcFontList.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    fc.FcFontList.restype = ctypes.POINTER(_FcFontSet)
    fc.FcPatternGetString.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]
    fc.FcPatternGetInteger.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    fc.FcFontSetDestroy.argtypes = [ctypes.POINTER(_FcFontSet)]
    fc.FcObjectSetDestroy.argtypes = [ctypes.c_void_p]
    fc.FcPatternDestroy.argtypes = [ctypes.c_void_p]
    fc.FcConfigDestroy.argtypes = [ctypes.c_void_p]

    config = fc.FcInitLoadConfigAndFonts()
    if not config:
        return []
    pattern = fc.FcNameParse(family.encode())
    object_set = fc.FcObjectSetBuild(b"family", b"file", b"index", b"weight", None)
    faces = []
    try:
        font_set = fc.FcFontList(config, pattern, object_set)
        if not font_set:
            return []
        try:
            for i in range(font_set.contents.nfont):
                font = font_set.contents.fonts[i]
                path, index, weight = ctypes.c_char_p(), ctypes.c_int(0), ctypes.c_int(80)
                if fc.FcPatternGetString(font, b"file", 0, ctypes.byref(path)) != 0 or not path.value:
                    continue
                fc.FcPatternGetInteger(font, b"index", 0, ctypes.byref(index))
                fc.FcPatternGetInteger(font, b"weight", 0, ctypes.byref(weight))
                faces.append(FontFace(os.fsdecode(path.value), index.value, weight.value))
        finally:
            fc.FcFontSetDestroy(font_set)
    finally:
        fc.FcObjectSetDestroy(object_set)
        fc.FcPatternDestroy(pattern)
        fc.FcConfigDestroy(config)
    return sorted(faces, key=lambda face: (face.weight, face.path, face.index))


def pdf_support_errors() -> list[checks.CheckMessage]:
    """The check messages for missing PDF prerequisites (empty when everything is present)."""
    errors: list[checks.CheckMessage] = []
    problem = _harfbuzz_problem()
    if problem:
        errors.append(
            checks.Error(
                f"PDF 打印需要 libharfbuzz-subset（{problem}）。缺少它时 WeasyPrint 改用 fontTools 子集化字体，"
                "一张证书约需 11 秒而不是约 0.1 秒。 / PDF printing needs libharfbuzz-subset "
                f"({problem}); without it WeasyPrint falls back to fontTools and one certificate takes "
                "about 11 s instead of about 0.1 s.",
                hint=INSTALL_HINT,
                id="printing.E001",
            )
        )
    faces = find_font_faces(CJK_FONT_FAMILY)
    if not faces:
        reason = "fontconfig not found" if faces is None else f"no '{CJK_FONT_FAMILY}' face"
        errors.append(
            checks.Error(
                f"PDF 打印需要 Noto CJK 中文字体（{CJK_FONT_FAMILY}，{reason}）；缺少时证书中的汉字无法正确显示。 / "
                f"PDF printing needs the Noto CJK font '{CJK_FONT_FAMILY}' ({reason}); without it "
                "Chinese text in certificates is substituted or missing.",
                hint=INSTALL_HINT,
                id="printing.E002",
            )
        )
    if not find_font_faces(FALLBACK_FAMILY):
        errors.append(
            checks.Warning(
                f"未安装 CJK 扩展 B–F 区字体（{FALLBACK_FAMILY}，fonts-hanazono）：含这些字的名称将在输入时被拒绝。 / "
                f"The CJK Extension B-F face '{FALLBACK_FAMILY}' (fonts-hanazono) is not installed: names with "
                "such characters are refused at input.",
                hint="apt-get install fonts-hanazono",
                id="printing.W003",
            )
        )
    return errors


def check_pdf_support(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Django system check: libharfbuzz-subset and the Noto CJK serif face are installed."""
    return pdf_support_errors()


_verified = False
_verified_lock = threading.Lock()


def require_pdf_support() -> None:
    """Raise RuntimeError unless PDF rendering can run at full speed; checked once per process."""
    global _verified
    if _verified:
        return
    with _verified_lock:
        if _verified:
            return
        errors = [error for error in pdf_support_errors() if error.is_serious()]
        if errors:
            details = "\n".join(f"[{error.id}] {error.msg}" for error in errors)
            raise RuntimeError(f"PDF rendering refused: prerequisites missing.\n{details}\nFix: {INSTALL_HINT}")
        _verified = True
