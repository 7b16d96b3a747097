"""QR codes for printed documents, as ``data:`` URIs the safe URL fetcher accepts."""
from __future__ import annotations

import segno


def _make(url: str, error: str):
    if not url:
        raise ValueError("QR code needs a non-empty URL")
    return segno.make(url, error=error, micro=False)


#: Pixels per module of the PNG. A raster of the page at screen resolution (nearest neighbour, no
#: interpolation) spaces the modules unevenly; measured with zbar on certificates with a real token (49
#: modules in 30 mm): 1 pixel per module reads only from 150 dpi up, 6 from 80 dpi up (as the SVG, which
#: also reads at 72 dpi); printed at 300 dpi and more every size reads.
PNG_MODULE_PIXELS = 6


def qr_png_data_uri(url: str, *, error: str = "m") -> str:
    """Return the QR code for ``url`` as a PNG ``data:image/png`` URI (:data:`PNG_MODULE_PIXELS` per module,
    the quiet zone of four modules the standard requires).

    The template decides how large it prints and draws it with ``image-rendering: pixelated`` (the PDF
    image is not interpolated), so the modules stay sharp squares in any reader. What certificates use:
    WeasyPrint draws the picture in a fraction of the time it takes to lay out and draw the SVG path of
    :func:`qr_svg_data_uri` (about 3 ms of a certificate's render).
    """
    return _make(url, error).png_data_uri(scale=PNG_MODULE_PIXELS, border=4, dark="#000", light="#fff")


def qr_svg_data_uri(url: str, *, dark: str = "#000", error: str = "m") -> str:
    """Return an SVG QR code for ``url`` as a ``data:image/svg+xml`` URI.

    The SVG has a viewBox and no width or height, so the template decides how large it prints;
    a quiet zone of four modules is kept, as the standard requires.
    """
    return _make(url, error).svg_data_uri(
        scale=1, border=4, dark=dark, light="#fff", xmldecl=False, nl=False, omitsize=True
    )
