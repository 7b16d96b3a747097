"""QR codes for printed documents, as SVG ``data:`` URIs the safe URL fetcher accepts."""
from __future__ import annotations

import segno


def qr_svg_data_uri(url: str, *, dark: str = "#000", error: str = "m") -> str:
    """Return an SVG QR code for ``url`` as a ``data:image/svg+xml`` URI.

    The SVG has a viewBox and no width or height, so the template decides how large it prints;
    a quiet zone of four modules is kept, as the standard requires.
    """
    if not url:
        raise ValueError("QR code needs a non-empty URL")
    qr = segno.make(url, error=error, micro=False)
    return qr.svg_data_uri(
        scale=1, border=4, dark=dark, light="#fff", xmldecl=False, nl=False, omitsize=True
    )
