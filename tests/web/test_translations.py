"""Every user-visible string has its English translation (Chinese is the source language)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from django.conf import settings

SOURCES = ["approvals", "orgs", "workflows", "printing", "designations", "security", "config", "templates", "locale", "manage.py"]


def _statistics(po: Path) -> str:
    result = subprocess.run(["msgfmt", "--statistics", "-o", os.devnull, str(po)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stderr.strip()


def test_the_english_catalogue_is_complete_and_current(tmp_path):
    """makemessages on a copy of the project: a string added to the code without a translation, or a
    changed one left fuzzy, shows up in msgfmt's statistics."""
    root = Path(settings.BASE_DIR)
    for name in SOURCES:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy2(source, tmp_path / name)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "PYTHONPATH": str(tmp_path)}
    subprocess.run([sys.executable, "manage.py", "makemessages", "-l", "en", "--no-obsolete"],
                   cwd=tmp_path, env=env, check=True, capture_output=True)
    statistics = _statistics(tmp_path / "locale/en/LC_MESSAGES/django.po")
    assert "untranslated" not in statistics and "fuzzy" not in statistics, statistics


def test_the_compiled_catalogue_matches_its_source(tmp_path):
    po = Path(settings.BASE_DIR) / "locale/en/LC_MESSAGES/django.po"
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(compiled), str(po)], check=True)
    assert compiled.read_bytes() == po.with_suffix(".mo").read_bytes(), "run: manage.py compilemessages -l en"
