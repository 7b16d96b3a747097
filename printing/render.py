"""PDF rendering: the only module that imports WeasyPrint.

* Templates are Django templates rendered with autoescaping, so user-controlled text can never become
  markup (an ``<img>``, a ``<link rel="attachment">`` or a CSS ``url()``).
* Every resource goes through the safe fetcher (:func:`get_url_fetcher`): only ``data:`` URIs, the
  files packaged in ``printing/static/printing/`` (addressed as ``asset:<path>``) and the two print
  fonts this module prepares in memory (``font:serif-regular``, ``font:serif-bold``) are served.
  ``file:``, ``http(s):``, ``ftp:`` and anything else are refused without opening anything, so no
  request is made and no redirect can be followed; ``../`` out of the asset folder is refused too.
  Documents have no base URL, so relative URLs are not resolved at all.
* PDF attachments are impossible: ``rel="attachment"`` is stripped from the parsed document before
  layout, ``attachments=[]`` is passed, and a finisher refuses the output if an embedded file or a
  file attachment annotation still appears.
* One :class:`FontConfiguration` and one bounded image cache per process (a new ``FontConfiguration``
  per render grows a process by hundreds of MB); ``presentational_hints=False``; never ``full_fonts``.
* WeasyPrint is imported lazily inside functions: a prefork worker that imported it at module level
  died with SIGABRT (FIELD-NOTES). Renders in one process are serialised by a lock because Pango's
  font map and the shared caches are not documented as thread-safe.
"""
from __future__ import annotations

import atexit
import ctypes
import gc
import logging
import mimetypes
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.template import engines

from .checks import (
    _HARFBUZZ_NAMES,
    _HARFBUZZ_SUBSET_NAMES,
    CJK_FONT_FAMILY,
    _load_library,
    find_font_faces,
    require_pdf_support,
)

logger = logging.getLogger(__name__)

#: The only folder whose files the renderer may read, addressed as ``asset:<relative path>``.
ASSET_ROOT = (Path(__file__).resolve().parent / "static" / "printing").resolve()
ASSET_SCHEME = "asset"
#: Fonts prepared in memory by :func:`get_print_fonts`, addressed as ``font:<name>`` in @font-face.
FONT_SCHEME = "font"

_IMAGE_CACHE_SIZE = 256


class RefusedURL(ValueError):
    """A resource URL outside the allow-list (data: URIs, packaged printing assets, print fonts)."""


class MissingGlyphs(ValueError):
    """The rendered PDF would show a box for these characters: no print face has them. The input checks
    (printing.glyphs) refuse such characters where they are typed; this catches anything that came in
    another way (an organization's name, an imported row), so no document is issued with a box in it."""

    def __init__(self, characters: list[str]):
        self.characters = characters
        super().__init__("no print font has " + ", ".join(f"U+{ord(c):04X}" for c in characters))


def asset_path(name: str) -> Path:
    """Resolve ``name`` inside :data:`ASSET_ROOT`; raise :class:`RefusedURL` if it escapes or is absent."""
    relative = unquote(name).lstrip("/")
    if not relative or "\\" in relative or "\x00" in relative:
        raise RefusedURL(f"invalid asset path: {name!r}")
    path = (ASSET_ROOT / relative).resolve()
    if not path.is_relative_to(ASSET_ROOT) or not path.is_file():
        raise RefusedURL(f"asset outside {ASSET_ROOT} or missing: {name!r}")
    return path


def read_asset(name: str) -> bytes:
    """Bytes of one packaged printing asset, e.g. ``certificate.css``."""
    return asset_path(name).read_bytes()


def asset_url(name: str) -> str:
    """The URL a template uses for a packaged asset."""
    asset_path(name)
    return f"{ASSET_SCHEME}:{name}"


class _BoundedCache(OrderedDict):
    """WeasyPrint's shared image cache (it must be a ``dict``): least recently used entries beyond
    ``maxsize`` are dropped, and images from ``data:`` URIs are not kept at all. Those are per
    document (QR codes) and a cached SVG image holds on to the whole layout of the document it came
    from; caching them grew a worker by about 50 MB for nothing."""

    def __init__(self, maxsize: int):
        super().__init__()
        self.maxsize = maxsize

    def __getitem__(self, key):
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def __setitem__(self, key, value):
        if isinstance(key, str) and key[:5].lower() == "data:":
            return
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.maxsize:
            self.popitem(last=False)


_lock = threading.RLock()

# --- Print fonts ---------------------------------------------------------------------------------
#
# WeasyPrint subsets embedded fonts with HarfBuzz but keeps glyph ids (RETAIN_GIDS), so each embedded
# face still carries an entry for every glyph id up to the highest one used. Noto Serif CJK SC has
# 65,535 glyphs and the Simplified Chinese forms sit near the end: each face cost about 147 KB per
# PDF, whatever the text. So once per process the installed faces are cut down with HarfBuzz:
# "Kexie Print Serif" holds GB 2312 plus Latin and punctuation (about 7,800 glyphs, about 35 KB per
# face in a PDF); "Kexie Print Serif Ext" holds the other URO ideographs (rare name characters such
# as 堃, 喆, 燊) and "Kexie Print Serif Rare" every other ideograph Noto has (Extension A, the
# compatibility ideographs and the few Extension B characters such as 𠮷); each is embedded only when
# such a character occurs, and a third tier keeps the glyph ids of the second small (the cost of a
# retained-gid subset grows with the highest glyph id used: 𠮷 cost 67 KB at the end of one tier). Extension B-F characters that Noto lacks come from HanaMinB
# (fonts-hanazono), a TrueType face whose small glyph ids make its subset cost about 1 KB a character.
# HarfBuzz 6 (Debian 12) cannot reorder glyphs, hence two tiers rather than one ordered font.

PRINT_FONT_FAMILY = "Kexie Print Serif"
_LATIN_AND_PUNCTUATION = (
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1
    (0x2000, 0x206F),  # general punctuation
    (0x2100, 0x214F),  # letterlike symbols (No.)
    (0x2460, 0x24FF),  # enclosed numbers
    (0x25A0, 0x26FF),  # shapes and symbols
    (0x3000, 0x303F),  # CJK symbols and punctuation, 〔〕
    (0xFF00, 0xFFEF),  # full-width forms
)
# Every ideograph block Noto Serif CJK SC has characters in: the URO, Extension A, the compatibility
# ideographs and Extensions B-H (it has about 2,200 of the extension-block characters, e.g. 𠮷).
_UNIFIED_IDEOGRAPHS = ((0x4E00, 0x9FFF),)
_RARE_IDEOGRAPHS = ((0x3400, 0x4DBF), (0xF900, 0xFAFF), (0x20000, 0x323AF))
_HB_SUBSET_SETS_DROP_TABLE_TAG = 3
_print_fonts: dict[str, bytes] | None = None


def _gb2312_codepoints() -> set[int]:
    codepoints = set()
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                codepoints.add(ord(bytes((high, low)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return codepoints


def _font_plan() -> dict[str, tuple[int, set[int], tuple[tuple[int, int], ...]]]:
    """name -> (fontconfig weight, single code points, code point ranges) for the print faces.

    The base faces hold GB 2312 (about 7,800 glyphs); the ``ext`` faces hold the other unified
    ideographs and are used only for the characters the base faces lack, so a rare character in a
    name costs one small extra face instead of the whole installed font.
    """
    gb2312 = _gb2312_codepoints()
    ext = {cp for first, last in _UNIFIED_IDEOGRAPHS for cp in range(first, last + 1)} - gb2312
    rare = {cp for first, last in _RARE_IDEOGRAPHS for cp in range(first, last + 1)}
    return {
        "serif-regular": (80, gb2312, _LATIN_AND_PUNCTUATION),
        "serif-bold": (200, gb2312, _LATIN_AND_PUNCTUATION),
        "serif-ext-regular": (80, ext, ()),
        "serif-ext-bold": (200, ext, ()),
        "serif-rare-regular": (80, rare, ()),
        "serif-rare-bold": (200, rare, ()),
    }


def _subset_face(path: str, index: int, codepoints: set[int], ranges: tuple[tuple[int, int], ...]) -> bytes:
    """Cut one installed face down to ``codepoints`` and ``ranges`` with libharfbuzz-subset."""
    hb = _load_library("harfbuzz", _HARFBUZZ_NAMES)
    hbs = _load_library("harfbuzz-subset", _HARFBUZZ_SUBSET_NAMES)
    if hb is None or hbs is None:
        raise RuntimeError("libharfbuzz-subset is not available")
    ptr, uint = ctypes.c_void_p, ctypes.c_uint
    hb.hb_blob_create_from_file_or_fail.argtypes, hb.hb_blob_create_from_file_or_fail.restype = [ctypes.c_char_p], ptr
    hb.hb_face_create.argtypes, hb.hb_face_create.restype = [ptr, uint], ptr
    hb.hb_face_reference_blob.argtypes, hb.hb_face_reference_blob.restype = [ptr], ptr
    hb.hb_blob_get_data.argtypes, hb.hb_blob_get_data.restype = [ptr, ctypes.POINTER(uint)], ptr
    hb.hb_set_add.argtypes = [ptr, uint]
    hb.hb_set_add_range.argtypes = [ptr, uint, uint]
    hb.hb_tag_from_string.argtypes, hb.hb_tag_from_string.restype = [ctypes.c_char_p, ctypes.c_int], ctypes.c_uint32
    hb.hb_blob_destroy.argtypes = [ptr]
    hb.hb_face_destroy.argtypes = [ptr]
    hbs.hb_subset_input_create_or_fail.restype = ptr
    hbs.hb_subset_input_unicode_set.argtypes, hbs.hb_subset_input_unicode_set.restype = [ptr], ptr
    hbs.hb_subset_input_set.argtypes, hbs.hb_subset_input_set.restype = [ptr, ctypes.c_int], ptr
    hbs.hb_subset_input_set_flags.argtypes = [ptr, uint]
    hbs.hb_subset_or_fail.argtypes, hbs.hb_subset_or_fail.restype = [ptr, ptr], ptr
    hbs.hb_subset_input_destroy.argtypes = [ptr]

    blob = hb.hb_blob_create_from_file_or_fail(path.encode())
    if not blob:
        raise RuntimeError(f"cannot read font file {path}")
    face = hb.hb_face_create(blob, index)
    subset_input = hbs.hb_subset_input_create_or_fail()
    subset_face = result_blob = None
    try:
        if not subset_input:
            raise RuntimeError("hb_subset_input_create_or_fail failed")
        unicodes = hbs.hb_subset_input_unicode_set(subset_input)
        for first, last in ranges:
            hb.hb_set_add_range(unicodes, first, last)
        for codepoint in sorted(codepoints):
            hb.hb_set_add(unicodes, codepoint)
        # Without GSUB the layout closure does not pull in thousands of variant glyphs (vertical,
        # traditional and Japanese forms); horizontal Chinese text does not need them.
        drop = hbs.hb_subset_input_set(subset_input, _HB_SUBSET_SETS_DROP_TABLE_TAG)
        hb.hb_set_add(drop, hb.hb_tag_from_string(b"GSUB", -1))
        hbs.hb_subset_input_set_flags(subset_input, 0)
        subset_face = hbs.hb_subset_or_fail(face, subset_input)
        if not subset_face:
            raise RuntimeError(f"HarfBuzz could not subset {path}#{index}")
        result_blob = hb.hb_face_reference_blob(subset_face)
        length = uint(0)
        data = hb.hb_blob_get_data(result_blob, ctypes.byref(length))
        if not data or not length.value:
            raise RuntimeError(f"HarfBuzz returned an empty subset of {path}#{index}")
        return ctypes.string_at(data, length.value)
    finally:
        if result_blob:
            hb.hb_blob_destroy(result_blob)
        if subset_face:
            hb.hb_face_destroy(subset_face)
        if subset_input:
            hbs.hb_subset_input_destroy(subset_input)
        hb.hb_face_destroy(face)
        hb.hb_blob_destroy(blob)


def _release_freed_memory() -> None:
    """HarfBuzz's subset plans for 65k-glyph faces leave about 100 MB of freed heap that glibc keeps
    mapped; hand it back to the system (a no-op where malloc_trim does not exist)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def get_print_fonts() -> dict[str, bytes]:
    """The reduced print faces by name (``serif-regular``, ``serif-ext-bold``...), built once per process.

    Empty if they cannot be built; templates then fall back to the installed family.
    """
    global _print_fonts
    with _lock:
        if _print_fonts is None:
            fonts: dict[str, bytes] = {}
            try:
                faces = find_font_faces(CJK_FONT_FAMILY) or []
                for name, (weight, codepoints, ranges) in (_font_plan() if faces else {}).items():
                    face = min(faces, key=lambda face: abs(face.weight - weight))
                    fonts[name] = _subset_face(face.path, face.index, codepoints, ranges)
                    _release_freed_memory()
            except Exception:
                logger.exception("Could not prepare the print fonts; using the installed %s", CJK_FONT_FAMILY)
                fonts = {}
            _print_fonts = fonts
        return _print_fonts


# --- Shared WeasyPrint objects -------------------------------------------------------------------

_font_config = None
_image_cache: _BoundedCache | None = None
_fetcher = None


def _make_fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class SafeURLFetcher(URLFetcher):
        """Serves ``data:`` URIs, ``asset:`` files and ``font:`` print fonts only; never opens a socket
        or a path outside the asset folder."""

        def __init__(self):
            # allowed_protocols is a second fence should fetch() ever be reached by the parent's
            # open(); redirects are off and errors are not fatal (the resource is just left out).
            super().__init__(allowed_protocols={"data", ASSET_SCHEME, FONT_SCHEME}, allow_redirects=False)

        def fetch(self, url, headers=None):
            scheme = urlsplit(url).scheme.lower() if ":" in url else ""
            if scheme == "data":
                return self._fetch_data(url)
            if scheme == ASSET_SCHEME:
                path = asset_path(urlsplit(url).path)
                mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                headers = {"Content-Type": mime_type}
                if mime_type.startswith("text/"):
                    headers["Content-Type"] = f"{mime_type}; charset=utf-8"
                return URLFetcherResponse(url, path.read_bytes(), headers)
            if scheme == FONT_SCHEME:
                font = get_print_fonts().get(urlsplit(url).path)
                if font is None:
                    raise RefusedURL(f"no print font named {url[:100]!r}")
                return URLFetcherResponse(url, font, {"Content-Type": "font/otf"})
            logger.warning("PDF render refused URL %.200r", url)
            raise RefusedURL(f"URL refused by the printing fetcher: {url[:200]!r}")

        @staticmethod
        def _fetch_data(url):
            from urllib.request import DataHandler, Request

            # urllib's DataHandler only decodes the URI; it never touches the network or disk.
            response = DataHandler().data_open(Request(url))
            return URLFetcherResponse(url, response.read(), dict(response.headers.items()))

        def open(self, url, data=None, timeout=None):
            return self.fetch(getattr(url, "full_url", url))

    return SafeURLFetcher


def get_url_fetcher():
    """The process-wide safe URL fetcher (also pass it to any ``CSS(...)``)."""
    global _fetcher
    with _lock:
        if _fetcher is None:
            _fetcher = _make_fetcher_class()()
        return _fetcher


def _release_at_exit():
    """Drop the process-wide font configuration (and the stylesheets parsed with it) while the interpreter
    still works: WeasyPrint's ``FontConfiguration.__del__`` removes its temporary font folder, and run during
    the interpreter's shutdown it fails with "Exception ignored … 'NoneType' object is not callable"."""
    global _font_config
    with _lock:
        _stylesheets.clear()
        _font_config = None
    gc.collect()


atexit.register(_release_at_exit)


def get_font_config():
    """The process-wide WeasyPrint ``FontConfiguration``."""
    global _font_config
    with _lock:
        if _font_config is None:
            from weasyprint.text.fonts import FontConfiguration

            _font_config = FontConfiguration()
        return _font_config


def get_image_cache() -> _BoundedCache:
    """The process-wide image cache (bounded LRU)."""
    global _image_cache
    with _lock:
        if _image_cache is None:
            _image_cache = _BoundedCache(_IMAGE_CACHE_SIZE)
        return _image_cache


def render_html(template_name: str, context: dict[str, Any]) -> str:
    """Render a print template with the Django engine, refusing to run if autoescaping is off."""
    engine = engines["django"]
    if not engine.engine.autoescape:
        raise ImproperlyConfigured("Print templates must be rendered with autoescape on.")
    return engine.get_template(template_name).render(context)


def _strip_attachment_links(etree_root) -> None:
    """Remove the ``attachment`` link type from every element so nothing is embedded as a file."""
    for element in etree_root.iter():
        rel = element.get("rel")
        if rel and "attachment" in rel.lower():
            kept = [token for token in rel.split() if token.lower() != "attachment"]
            if kept:
                element.set("rel", " ".join(kept))
            else:
                del element.attrib["rel"]


def _refuse_missing_glyphs(document) -> None:
    """Fail closed if any character was drawn as .notdef: WeasyPrint records, per embedded font, the
    code points it had no glyph for (and only logs a warning)."""
    missing = sorted({codepoint for font in document.fonts.values() for codepoint in getattr(font, "missing", {})})
    if missing:
        raise MissingGlyphs([chr(codepoint) for codepoint in missing])


def _finish(document, pdf) -> None:
    """Finisher: refuse the output if a glyph is missing or a file is embedded."""
    _refuse_missing_glyphs(document)
    _refuse_embedded_files(document, pdf)


def _refuse_embedded_files(document, pdf) -> None:
    """Fail closed if the PDF about to be written holds any embedded file."""
    names = pdf.catalog.get("Names")
    if names is not None and "EmbeddedFiles" in names:
        raise RuntimeError("PDF render produced an EmbeddedFiles tree; output refused.")
    for obj in pdf.objects:
        entries = obj.extra if hasattr(obj, "extra") else obj
        if not isinstance(entries, dict):
            continue
        if entries.get("Type") in ("/EmbeddedFile", "/Filespec") or entries.get("Subtype") == "/FileAttachment":
            raise RuntimeError("PDF render produced a file attachment; output refused.")


@dataclass(frozen=True)
class SealArea:
    """Where a seal goes on a rendered page, in PDF points from the page's bottom-left corner (the box of
    an element with class ``seal-area``): the signer puts the electronic seal exactly there."""

    page: int
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    seal_areas: list[SealArea]


_PX_TO_PT = 0.75  # CSS px are 1/96 in, PDF points 1/72 in


def _all_boxes(box):
    """Every box under ``box``, including absolutely positioned ones (WeasyPrint keeps those behind an
    AbsolutePlaceholder, which ``descendants()`` does not enter)."""
    stack = [box]
    while stack:
        current = stack.pop()
        current = getattr(current, "_box", current)  # an AbsolutePlaceholder's laid-out box
        yield current
        stack.extend(reversed(getattr(current, "children", None) or []))


def _seal_areas(document) -> list[SealArea]:
    areas = []
    for index, page in enumerate(document.pages):
        height = page.height * _PX_TO_PT
        for box in _all_boxes(page._page_box):
            element = getattr(box, "element", None)
            if element is None or "seal-area" not in (element.get("class") or "").split():
                continue
            x, y = box.border_box_x() * _PX_TO_PT, box.border_box_y() * _PX_TO_PT
            width, box_height = box.border_width() * _PX_TO_PT, box.border_height() * _PX_TO_PT
            areas.append(SealArea(index, round(x, 2), round(height - y - box_height, 2), round(x + width, 2),
                                  round(height - y, 2)))
    # A box split over two pages appears twice; keep the first part of each.
    return areas


def _located_pages(document) -> dict[str, int]:
    """Element ``data-locate`` value → the index of the first page a box of the element is on."""
    located: dict[str, int] = {}
    for index, page in enumerate(document.pages):
        for box in _all_boxes(page._page_box):
            element = getattr(box, "element", None)
            if element is None:
                continue
            key = element.get("data-locate")
            if key is not None and key not in located:
                located[key] = index
    return located


# --- Parsed stylesheets, once per process ----------------------------------------------------------
#
# WeasyPrint parses and preprocesses every <style> and <link rel="stylesheet"> of every document again
# (tinycss2, cssselect2's matcher, the @font-face and @page rules): about 10 ms of a certificate's render,
# for the same two stylesheets each time. weasyprint.css.find_stylesheets builds them through the name
# ``CSS`` of that module; it is given a factory that keeps, per text (a <style>) or per asset and its bytes
# (a <link>), the parsed sheet and the @page rules it added, and adds those rules to the next document's
# list. The matcher and the rules are only read during the cascade. A sheet that declares anything else
# into the document's shared collections (@layer, @counter-style, colour profiles) is not kept; an
# @import (a matcher passed in) is parsed as before. The @font-face rules were registered in the
# process-wide FontConfiguration by the first parse (WeasyPrint keeps a face once per configuration).

_STYLESHEET_CACHE_SIZE = 32
_stylesheets: OrderedDict = OrderedDict()


def _stylesheet_key(kwargs: dict):
    if kwargs.get("matcher") is not None or kwargs.get("layer") is not None:
        return None
    if kwargs.get("url_fetcher") is not _fetcher or kwargs.get("font_config") is not _font_config:
        return None
    if set(kwargs) - {"string", "url", "base_url", "url_fetcher", "media_type", "font_config", "counter_style",
                      "color_profiles", "page_rules", "layers", "_check_mime_type"}:
        return None
    common = (kwargs.get("base_url"), kwargs.get("media_type"), kwargs.get("_check_mime_type", False))
    if isinstance(kwargs.get("string"), str) and kwargs.get("url") is None:
        return ("string", kwargs["string"], *common)
    url = kwargs.get("url")
    if kwargs.get("string") is None and isinstance(url, str) and urlsplit(url).scheme.lower() == ASSET_SCHEME:
        return ("asset", url, read_asset(urlsplit(url).path), *common)  # an edited asset is a new entry
    return None


def _make_stylesheet_factory(css_class):
    def cached_css(*args, **kwargs):
        key = None if args else _stylesheet_key(kwargs)
        if key is None:
            return css_class(*args, **kwargs)
        kept = _stylesheets.get(key)
        if kept is None:
            page_rules, layers, counter_style, color_profiles = [], [], {}, {}
            sheet = css_class(**{**kwargs, "page_rules": page_rules, "layers": layers,
                                 "counter_style": counter_style, "color_profiles": color_profiles})
            if layers or counter_style or color_profiles:
                return css_class(*args, **kwargs)  # declares into the document's collections: parsed each time
            kept = _stylesheets[key] = (sheet, tuple(page_rules))
            while len(_stylesheets) > _STYLESHEET_CACHE_SIZE:
                _stylesheets.popitem(last=False)
        _stylesheets.move_to_end(key)
        sheet, page_rules = kept
        if kwargs.get("page_rules") is not None:
            kwargs["page_rules"].extend(page_rules)
        return sheet

    cached_css.kexie_cached = True
    return cached_css


def _install_stylesheet_cache() -> None:
    import weasyprint.css

    if not getattr(weasyprint.css.CSS, "kexie_cached", False):
        weasyprint.css.CSS = _make_stylesheet_factory(weasyprint.css.CSS)


def _layout(html: str):
    from weasyprint import HTML

    _install_stylesheet_cache()
    get_font_config()
    document = HTML(string=html, base_url=None, url_fetcher=get_url_fetcher())
    _strip_attachment_links(document.etree_element)
    return document.render(get_font_config(), cache=get_image_cache(), presentational_hints=False,
                           full_fonts=False, attachments=[], custom_metadata=False)


def _quiet_progress() -> None:
    # Seven INFO lines per document from WeasyPrint's progress logger would drown worker logs; a
    # level set explicitly in LOGGING is left alone.
    progress = logging.getLogger("weasyprint.progress")
    if progress.level == logging.NOTSET:
        progress.setLevel(logging.WARNING)


def _write(laid_out) -> Rendered:
    pdf = laid_out.write_pdf(finisher=_finish, full_fonts=False, attachments=[], custom_metadata=False,
                             presentational_hints=False, cache=get_image_cache())
    return Rendered(pdf, _seal_areas(laid_out))


def render_document(html: str) -> Rendered:
    """Lay out ``html`` (already rendered and escaped) with the safe fetcher and shared caches; return
    the PDF and where its seal areas landed."""
    require_pdf_support()
    _quiet_progress()
    with _lock:
        return _write(_layout(html))


#: Layouts a fitted document may take before the last one is kept (each pass only adds labels).
FIT_PASSES = 3


def render_fitted(build: Callable[[dict[str, int]], str]) -> Rendered:
    """Render a document whose text depends on its own page breaks: ``build(located)`` returns the HTML
    given the page index of every element with a ``data-locate`` attribute ({} the first time); it is laid
    out again with what the previous layout found until the HTML no longer changes (at most
    :data:`FIT_PASSES` layouts; one when nothing depends on a break)."""
    require_pdf_support()
    _quiet_progress()
    html = build({})
    with _lock:
        laid_out = _layout(html)
        for _ in range(FIT_PASSES - 1):
            again = build(_located_pages(laid_out))
            if again == html:
                break
            html, laid_out = again, _layout(again)
        return _write(laid_out)


def html_to_pdf(html: str) -> bytes:
    """The PDF of ``html`` (see :func:`render_document`)."""
    return render_document(html).pdf


def render_pdf(template_name: str, context: dict[str, Any]) -> bytes:
    """Render ``template_name`` with ``context`` (autoescaped) and return the PDF bytes."""
    require_pdf_support()
    return html_to_pdf(render_html(template_name, context))


def render_template_document(template_name: str, context: dict[str, Any]) -> Rendered:
    """Like :func:`render_pdf`, with the seal areas."""
    require_pdf_support()
    return render_document(render_html(template_name, context))
