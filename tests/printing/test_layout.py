import os
from pathlib import Path

from .layout_data import every_document, frozen  # noqa: F401


def test_scratch(frozen, world, django_capture_on_commit_callbacks):  # noqa: F811
    docs = every_document(world, django_capture_on_commit_callbacks)
    out = Path(os.environ.get("SCRATCH", "/tmp/scratch"))
    out.mkdir(exist_ok=True)
    for name, pdf in docs.items():
        (out / f"{name}.pdf").write_bytes(pdf)
