#!/usr/bin/env bash
# Pictures of every document type: runs the printing tests that keep their PDFs, then turns each PDF into
# 80 dpi PNG pages with pdftoppm under test-artifacts/ (git-ignored), for a person to look at; the golden
# test writes its own pages (every document type, fixed data) to test-artifacts/goldens/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=test-artifacts
mkdir -p "$out"
PRINTING_ARTIFACTS_DIR="$PWD/$out" .venv/bin/pytest -q -m "not integration" -p no:randomly \
  tests/printing/test_documents.py tests/printing/test_pictures.py tests/printing/test_layout.py \
  tests/printing/test_goldens.py >/dev/null
for pdf in "$out"/*.pdf; do
  pdftoppm -r 80 -png "$pdf" "${pdf%.pdf}"
done
ls "$out"/*.png
