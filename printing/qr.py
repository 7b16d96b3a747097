"""QR codes for printed documents, as ``data:`` URIs the safe URL fetcher accepts."""
from __future__ import annotations

import segno


def _make(url: str, error: str):
    if not url:
        raise ValueError("QR code needs a non-empty URL")
    return segno.make(url, error=error, micro=False)


#: Pixels per module of the PNG. A raster of the page at screen resolution (nearest neighbour, no
#: interpolation) spaces the modules unevenly. Measured with zbar on certificates with real tokens (49
#: modules in 30 mm), six codes each, at 72 / 80 / 96 dpi: 3 pixels read 6 / 6 / 6 (the SVG 5 / 6 / 6,
#: 6 pixels 0 / 5 / 6, 1 pixel none below 150 dpi); printed at 300 dpi and more every size reads. Larger
#: pictures also cost more to decode and compress into the PDF (3: +0.5 ms, 6: +2.5 ms).
PNG_MODULE_PIXELS = 3


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
