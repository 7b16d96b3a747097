"""Writes to the organization tree: division import and organizations for divisions."""
import csv
import re
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from .models import Division, DivisionKind, Level, Organization, OrgKind, Role

DEFAULT_DIVISIONS_FILE = Path(__file__).resolve().parent / "data" / "divisions.csv"
_CODE = re.compile(r"^\d{6}$")
_LEVEL_ORDER = {Level.PROVINCE: 0, Level.CITY: 1, Level.COUNTY: 2}


class DivisionImportError(ValueError):
    """The division file is malformed; nothing was imported."""


@dataclass(frozen=True)
class DivisionDiff:
    """What an import changed. Codes are sorted; renamed, moved and retyped carry (code, before, after)."""

    added: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str, str], ...] = ()
    moved: tuple[tuple[str, str, str], ...] = ()
    retyped: tuple[tuple[str, str, str], ...] = ()
    retired: tuple[str, ...] = ()
    restored: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    deactivated: int
    total: int
    diff: DivisionDiff = DivisionDiff()


_COLUMNS = ["code", "name", "level", "parent_code"]


def _read_rows(path: Path) -> list[dict]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DivisionImportError(_("无法读取区划文件 %(path)s：%(error)s") % {"path": path, "error": exc}) from exc
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(lines)
    # The kind column came with functional areas; a file without it holds divisions only.
    if reader.fieldnames not in (_COLUMNS, [*_COLUMNS, "kind"]):
        raise DivisionImportError(
            _("区划文件表头应为 %(expected)s，实际为 %(got)s")
            % {"expected": ",".join(_COLUMNS) + "[,kind]", "got": reader.fieldnames}
        )
    rows, seen = [], set()
    for lineno, row in enumerate(reader, start=2):
        code, name, level, parent = ((row.get(k) or "").strip() for k in _COLUMNS)
        kind = (row.get("kind") or DivisionKind.ADMIN).strip()
        if not _CODE.match(code):
            raise DivisionImportError(_("第 %(line)d 行：区划代码“%(code)s”不是 6 位数字") % {"line": lineno, "code": code})
        if code in seen:
            raise DivisionImportError(_("第 %(line)d 行：区划代码 %(code)s 重复") % {"line": lineno, "code": code})
        if not name:
            raise DivisionImportError(_("第 %(line)d 行：区划名称为空") % {"line": lineno})
        if level not in _LEVEL_ORDER:
            raise DivisionImportError(
                _("第 %(line)d 行：级别“%(level)s”应为 province、city 或 county") % {"line": lineno, "level": level}
            )
        if kind not in DivisionKind.values:
            raise DivisionImportError(
                _("第 %(line)d 行：类型“%(kind)s”应为 admin 或 functional") % {"line": lineno, "kind": kind}
            )
        if kind == DivisionKind.FUNCTIONAL and level != Level.COUNTY:
            raise DivisionImportError(_("第 %(line)d 行：功能区应为县级") % {"line": lineno})
        if (level == Level.PROVINCE) != (parent == ""):
            raise DivisionImportError(_("第 %(line)d 行：只有省级区划没有上级") % {"line": lineno})
        seen.add(code)
        rows.append({"code": code, "name": name, "level": level, "parent": parent or None, "kind": kind,
                     "line": lineno})
    if not rows:
        raise DivisionImportError(_("区划文件中没有数据"))
    levels = {r["code"]: r["level"] for r in rows}
    for r in rows:
        if r["parent"] and r["parent"] not in levels:
            raise DivisionImportError(
                _("第 %(line)d 行：上级区划 %(parent)s 不在文件中") % {"line": r["line"], "parent": r["parent"]}
            )
        if r["parent"] and _LEVEL_ORDER[levels[r["parent"]]] != _LEVEL_ORDER[r["level"]] - 1:
            raise DivisionImportError(
                _("第 %(line)d 行：上级区划 %(parent)s 的级别不对") % {"line": r["line"], "parent": r["parent"]}
            )
    return rows


def _diff(rows: list[dict], before: dict[str, tuple]) -> DivisionDiff:
    codes = {r["code"] for r in rows}
    changed = {"renamed": [], "moved": [], "retyped": []}
    restored = []
    for r in sorted(rows, key=lambda r: r["code"]):
        if r["code"] not in before:
            continue
        name, parent, kind, active = before[r["code"]]
        for field, old, new in (("renamed", name, r["name"]), ("moved", parent or "", r["parent"] or ""),
                                ("retyped", kind, r["kind"])):
            if old != new:
                changed[field].append((r["code"], old, new))
        if not active:
            restored.append(r["code"])
    return DivisionDiff(
        added=tuple(sorted(codes - before.keys())),
        renamed=tuple(changed["renamed"]), moved=tuple(changed["moved"]), retyped=tuple(changed["retyped"]),
        retired=tuple(sorted(code for code, (*_rest, active) in before.items() if active and code not in codes)),
        restored=tuple(restored),
    )


@transaction.atomic
def divisions_import(*, path: Path = DEFAULT_DIVISIONS_FILE) -> ImportResult:
    """Load divisions from a CSV file in one transaction; codes missing from the file become inactive
    (retired, never deleted: organizations and applications keep pointing at them)."""
    rows = _read_rows(Path(path))
    before = {code: (name, parent, kind, active) for code, name, parent, kind, active in
              Division.objects.values_list("code", "name", "parent_id", "kind", "active")}
    diff = _diff(rows, before)
    rows.sort(key=lambda r: (_LEVEL_ORDER[r["level"]], r["code"]))
    objs = [
        Division(code=r["code"], name=r["name"], level=r["level"], parent_id=r["parent"], kind=r["kind"], active=True)
        for r in rows
    ]
    Division.objects.bulk_create(
        objs, batch_size=500, update_conflicts=True, unique_fields=["code"],
        update_fields=["name", "level", "parent", "kind", "active"],
    )
    codes = [r["code"] for r in rows]
    deactivated = Division.objects.filter(active=True).exclude(code__in=codes).update(active=False)
    created = len(diff.added)
    return ImportResult(created=created, updated=len(rows) - created, deactivated=deactivated, total=len(rows),
                        diff=diff)


KEXIE_SUFFIX = "科学技术协会"
KEXIE_SHORT = "科协"


def member_display_name(organization: Organization, role: str, number: int = 1) -> str:
    """The display name of a person known only by their organization and role (issue 16, item 1): the
    organization's short name and the role's Chinese title, e.g. 琅琊区科协经办人; a second holder of the
    same role is numbered (安徽省科协评审专家2). Stored in Chinese whatever language is active. The demo
    (orgs.demo) and the test world name their users by this rule."""
    name = organization.name
    if organization.kind == OrgKind.KEXIE and name.endswith(KEXIE_SUFFIX):
        name = name[: -len(KEXIE_SUFFIX)] + KEXIE_SHORT
    with translation.override("zh-hans"):
        title = str(Role(role).label)
    return f"{name}{title}" + (str(number) if number > 1 else "")


def _kexie_name(division: Division, province: Division | None) -> str:
    # "市辖区" and "县" rows of the municipalities are not names of their own.
    if division.name in {"市辖区", "县"} and province is not None:
        return f"{province.name}{division.name}{KEXIE_SUFFIX}"
    return f"{division.name}{KEXIE_SUFFIX}"


@transaction.atomic
def organizations_ensure_for_province(*, province_code: str) -> int:
    """Create the 科协 of a province, its cities and counties (idempotent). Returns how many were created."""
    root, _created = Organization.objects.get_or_create(
        kind=OrgKind.KEXIE, level=Level.NATIONAL, parent=None,
        defaults={"name": "中国科学技术协会"},
    )
    divisions = list(
        Division.objects.filter(code__startswith=province_code[:2], active=True).order_by("code")
    )
    existing = {o.division_id: o for o in Organization.objects.filter(division__in=divisions, kind=OrgKind.KEXIE)}
    by_code = {d.code: d for d in divisions}
    province = by_code.get(province_code)
    created = 0
    for division in divisions:  # sorted by code, so parents come before children
        if division.code in existing:
            continue
        parent = root if division.parent_id is None else existing[division.parent_id]
        org = Organization(
            name=_kexie_name(division, province), kind=OrgKind.KEXIE, level=division.level,
            division=division, parent=parent,
        )
        org.save()
        existing[division.code] = org
        created += 1
    return created
