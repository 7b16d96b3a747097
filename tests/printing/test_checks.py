"""System checks for libharfbuzz-subset and the Noto CJK serif face."""
import ctypes

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from printing import checks as printing_checks


@pytest.fixture
def without_harfbuzz_subset(monkeypatch):
    """find_library() finds nothing and loading any libharfbuzz-subset name fails."""
    real_cdll = ctypes.CDLL

    def fake_find_library(name):
        return None

    def fake_cdll(name, *args, **kwargs):
        if "harfbuzz-subset" in str(name):
            raise OSError(f"{name}: cannot open shared object file")
        return real_cdll(name, *args, **kwargs)

    monkeypatch.setattr(printing_checks, "find_library", fake_find_library)
    monkeypatch.setattr(printing_checks.ctypes, "CDLL", fake_cdll)
    monkeypatch.setattr(printing_checks, "_verified", False)


@pytest.fixture
def without_cjk_font(monkeypatch):
    real = printing_checks.find_font_faces
    monkeypatch.setattr(printing_checks, "find_font_faces",
                        lambda family: [] if family == printing_checks.CJK_FONT_FAMILY else real(family))
    monkeypatch.setattr(printing_checks, "_verified", False)


def ids(messages):
    return [message.id for message in messages]


def test_check_passes_here():
    assert printing_checks.check_pdf_support() == []
    printing_checks.require_pdf_support()


def test_noto_serif_cjk_sc_is_found():
    faces = printing_checks.find_font_faces(printing_checks.CJK_FONT_FAMILY)
    assert faces and {face.weight for face in faces} >= {80, 200}
    assert printing_checks.find_font_faces("No Such Font Family 12345") == []


def test_check_is_registered_with_django():
    assert "printing.E001" not in ids(checks.run_checks())


def test_missing_harfbuzz_subset_is_printing_e001(without_harfbuzz_subset):
    errors = printing_checks.check_pdf_support()
    assert ids(errors) == ["printing.E001"]
    error = errors[0]
    assert error.level == checks.ERROR
    assert "libharfbuzz-subset" in error.msg and "11 s" in error.msg and "约需 11 秒" in error.msg
    assert error.hint == "apt-get install libharfbuzz-subset0 fonts-noto-cjk fonts-hanazono"
    assert "printing.E001" in ids(checks.run_checks())


def test_missing_harfbuzz_subset_fails_manage_py_check(without_harfbuzz_subset):
    with pytest.raises(SystemCheckError, match="printing.E001"):
        call_command("check")


def test_missing_cjk_font_is_printing_e002(without_cjk_font):
    errors = printing_checks.check_pdf_support()
    assert ids(errors) == ["printing.E002"]
    assert "Noto Serif CJK SC" in errors[0].msg
    assert errors[0].hint == "apt-get install libharfbuzz-subset0 fonts-noto-cjk fonts-hanazono"


def test_missing_fontconfig_is_printing_e002(monkeypatch):
    monkeypatch.setattr(printing_checks, "find_font_faces", lambda family: None)
    errors = printing_checks.check_pdf_support()
    assert ids(errors) == ["printing.E002", "printing.W003"]
    assert "fontconfig not found" in errors[0].msg


def test_missing_extension_face_is_a_warning_that_does_not_stop_rendering(monkeypatch):
    real = printing_checks.find_font_faces
    monkeypatch.setattr(printing_checks, "find_font_faces",
                        lambda family: [] if family == printing_checks.FALLBACK_FAMILY else real(family))
    monkeypatch.setattr(printing_checks, "_verified", False)
    messages = printing_checks.check_pdf_support()
    assert ids(messages) == ["printing.W003"]
    assert messages[0].level == checks.WARNING and "fonts-hanazono" in messages[0].msg
    assert messages[0].hint == "apt-get install fonts-hanazono"
    printing_checks.require_pdf_support()


def test_require_pdf_support_refuses_to_start(without_harfbuzz_subset, without_cjk_font):
    with pytest.raises(RuntimeError) as excinfo:
        printing_checks.require_pdf_support()
    message = str(excinfo.value)
    assert "printing.E001" in message and "printing.E002" in message
    assert "apt-get install libharfbuzz-subset0 fonts-noto-cjk fonts-hanazono" in message


def test_render_pdf_refuses_without_support(without_harfbuzz_subset):
    from printing.render import render_pdf

    with pytest.raises(RuntimeError, match="libharfbuzz-subset"):
        render_pdf("printing/certificate.html", {})
