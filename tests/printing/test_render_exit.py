"""A process that rendered a PDF ends cleanly: the process-wide font configuration is released before the
interpreter's shutdown, not by WeasyPrint's ``__del__`` during it ("Exception ignored … NoneType")."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import django
django.setup()
from printing import render
# An @font-face rule makes WeasyPrint keep a temporary font folder, which its __del__ removes.
pdf = render.html_to_pdf(
    "<style>@font-face { font-family: seal; src: local('Noto Serif CJK SC') } body { font-family: seal }</style>"
    "<p>证书 中文</p>"
)
assert pdf.startswith(b"%PDF")
"""


def test_a_process_that_rendered_exits_without_an_ignored_exception():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)

    assert done.returncode == 0, done.stderr
    assert "Exception ignored" not in done.stderr
    assert "Traceback" not in done.stderr
