"""Golden images: every document type, rendered from fixed data at a fixed time (tests.printing.layout_data),
as 80 dpi grayscale pages (pdftoppm) compared with the PNGs in tests/printing/goldens/. A page differs
when more than GOLDEN_TOLERANCE of its pixels differ by more than a quarter of the gray scale, so that
antialiasing and a changed digit pass and a moved block, a reflowed paragraph or another page count fail.

``UPDATE_GOLDENS=1`` rewrites the goldens (look at them before committing). Every run also writes its
pages to test-artifacts/goldens/ (and, for a page that differs, the difference as <page>-diff.png)."""
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageOps

from .layout_data import every_document

GOLDENS = Path(__file__).parent / "goldens"
DPI = 80
GOLDEN_TOLERANCE = 0.004  # share of a page's pixels
PIXEL_THRESHOLD = 64  # of 255
LEVELS = 4  # bits of gray kept in the goldens (16 levels): small files, and antialiasing noise drops out


def pages_of(pdf: bytes) -> list[Image.Image]:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "doc.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-png", str(source), str(Path(folder) / "page")],
                       check=True, capture_output=True)
        return [ImageOps.posterize(Image.open(path).convert("L"), LEVELS)
                for path in sorted(Path(folder).glob("page-*.png"), key=lambda p: int(p.stem.split("-")[1]))]


def difference(golden: Image.Image, page: Image.Image) -> float:
    """Share of the pixels that differ by more than PIXEL_THRESHOLD (1.0 for another page size)."""
    if golden.size != page.size:
        return 1.0
    diff = ImageChops.difference(golden, page).point(lambda v: 255 if v > PIXEL_THRESHOLD else 0)
    return diff.histogram()[255] / (page.width * page.height)


def save(image: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, optimize=True)


def compare(name: str, pages: list[Image.Image], artifacts: Path) -> list[str]:
    """What differs from the goldens of ``name`` (empty when nothing does)."""
    goldens = sorted(GOLDENS.glob(f"{name}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    if len(goldens) != len(pages):
        return [f"{name}: {len(pages)} pages, the goldens have {len(goldens)}"]
    problems = []
    for number, (path, page) in enumerate(zip(goldens, pages, strict=True), start=1):
        golden = Image.open(path).convert("L")
        share = difference(golden, page)
        if share > GOLDEN_TOLERANCE:
            problems.append(f"{name} page {number}: {share:.2%} of the pixels differ (tolerance {GOLDEN_TOLERANCE:.1%})")
            if golden.size == page.size:
                save(ImageChops.difference(golden, page), artifacts / f"{name}-{number}-diff.png")
    return problems


def test_every_document_type_matches_its_golden_images(frozen_world, django_capture_on_commit_callbacks,
                                                       request):
    documents = every_document(frozen_world, django_capture_on_commit_callbacks)
    artifacts = request.config.rootpath / "test-artifacts" / "goldens"
    update = os.environ.get("UPDATE_GOLDENS") == "1"
    problems = []
    for name, pdf in documents.items():
        pages = pages_of(pdf)
        for number, page in enumerate(pages, start=1):
            save(page, artifacts / f"{name}-{number}.png")
        if update:
            for old in GOLDENS.glob(f"{name}-*.png"):
                old.unlink()
            for number, page in enumerate(pages, start=1):
                save(page, GOLDENS / f"{name}-{number}.png")
        else:
            problems += compare(name, pages, artifacts)
    assert not problems, "\n".join(problems) + "\n(the pages are in test-artifacts/goldens/; UPDATE_GOLDENS=1 " \
                                               "rewrites the goldens)"


@pytest.mark.parametrize("shift_mm", [1, 5])
@pytest.mark.parametrize("golden", ["application_form-1", "recommendation_letter-1", "certificate-1", "notice-2"])
def test_a_moved_layout_fails_the_comparison(golden, shift_mm):
    """The tolerance lets a page through unchanged and refuses one whose content moved down by 1 mm."""
    page = Image.open(GOLDENS / f"{golden}.png").convert("L")
    assert difference(page, page) == 0
    shift = round(shift_mm / 25.4 * DPI)
    moved = Image.new("L", page.size, 255)
    moved.paste(page.crop((0, 0, page.width, page.height - shift)), (0, shift))
    assert difference(page, moved) > GOLDEN_TOLERANCE


def test_the_goldens_are_small():
    files = list(GOLDENS.glob("*.png"))
    assert files and sum(f.stat().st_size for f in files) < 1_500_000
    assert all(Image.open(f).mode in ("L", "P") for f in files)
