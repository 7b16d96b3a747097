"""Division import: idempotence, counts per province, deactivation, and malformed files changing nothing."""
import csv
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orgs.models import Division
from orgs.services import DEFAULT_DIVISIONS_FILE, DivisionDiff, DivisionImportError, divisions_import

HEADER = "code,name,level,parent_code"


def _counts(result) -> tuple[int, int, int, int]:
    return result.created, result.updated, result.deactivated, result.total


def _snapshot() -> list[tuple]:
    return list(Division.objects.order_by("code").values_list("code", "name", "level", "parent_id", "active"))


def _csv_rows() -> list[dict]:
    lines = [
        line for line in DEFAULT_DIVISIONS_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return list(csv.DictReader(lines))


def _write(tmp_path, *lines: str):
    path = tmp_path / "divisions.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.django_db
def test_import_twice_gives_the_same_rows_and_creates_nothing_the_second_time():
    first = divisions_import()
    after_first = _snapshot()
    second = divisions_import()

    assert _counts(first) == (3346, 0, 0, 3346)
    assert len(first.diff.added) == 3346 and first.diff.retired == ()
    assert _counts(second) == (0, 3346, 0, 3346)
    assert second.diff == DivisionDiff()
    assert _snapshot() == after_first
    assert len(after_first) == len(_csv_rows()) == 3346


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("province", "cities", "counties"),
    [("340000", 16, 119), ("510000", 21, 183), ("370000", 16, 151)],
)
def test_divisions_per_province_match_the_file(province, cities, counties):
    divisions_import()
    in_file = Counter(
        row["level"] for row in _csv_rows() if row["code"][:2] == province[:2] and row["level"] != "province"
    )
    in_db = Counter(
        Division.objects.filter(code__startswith=province[:2], active=True)
        .exclude(level="province").values_list("level", flat=True)
    )

    assert in_db == in_file
    assert in_db == Counter({"city": cities, "county": counties})
    assert Division.objects.get(code=province).level == "province"
    # Every city of the province hangs under it, every county under one of its cities.
    assert Division.objects.filter(level="city", code__startswith=province[:2]).exclude(parent_id=province).count() == 0
    assert (
        Division.objects.filter(level="county", code__startswith=province[:2])
        .exclude(parent__parent_id=province).count() == 0
    )


@pytest.mark.django_db
def test_known_divisions_of_the_demo_chains():
    divisions_import()

    assert Division.objects.get(code="341100").name == "滁州市"
    assert Division.objects.get(code="341102").parent_id == "341100"
    assert Division.objects.get(code="341103").name == "南谯区"
    assert Division.objects.get(code="510117").parent.parent_id == "510000"


@pytest.mark.django_db
def test_a_code_missing_from_the_file_is_marked_inactive_not_deleted(tmp_path):
    divisions_import()
    before = _snapshot()
    lines = DEFAULT_DIVISIONS_FILE.read_text(encoding="utf-8").splitlines()
    without_nanqiao = _write(tmp_path, *(line for line in lines if not line.startswith("341103,")))

    result = divisions_import(path=without_nanqiao)

    assert _counts(result) == (0, 3345, 1, 3345)
    assert result.diff == DivisionDiff(retired=("341103",))
    nanqiao = Division.objects.get(code="341103")
    assert (nanqiao.name, nanqiao.level, nanqiao.parent_id, nanqiao.active) == ("南谯区", "county", "341100", False)
    assert Division.objects.count() == 3346
    assert Division.objects.filter(active=False).count() == 1
    expected = [row if row[0] != "341103" else (*row[:4], False) for row in before]
    assert _snapshot() == expected

    # Importing the full file again brings it back.
    again = divisions_import()
    assert _counts(again) == (0, 3346, 0, 3346)
    assert again.diff == DivisionDiff(restored=("341103",))
    assert _snapshot() == before


GOOD_LINES = ("340000,安徽省（改名）,province,", "341100,滁州市,city,340000", "341103,南谯区,county,341100")

MALFORMED = {
    "bad code": (
        [HEADER, *GOOD_LINES, "34110A,坏代码区,county,341100"],
        "第 5 行：区划代码“34110A”不是 6 位数字",
    ),
    "duplicate code": (
        [HEADER, *GOOD_LINES, "341100,滁州市,city,340000"],
        "第 5 行：区划代码 341100 重复",
    ),
    "unknown parent": (
        [HEADER, *GOOD_LINES, "341999,无主县,county,341900"],
        "第 5 行：上级区划 341900 不在文件中",
    ),
    "bad header": (
        ["code,name,level,parent", *GOOD_LINES],
        "区划文件表头应为 code,name,level,parent_code[,kind]，实际为 ['code', 'name', 'level', 'parent']",
    ),
    "bad level": (
        [HEADER, *GOOD_LINES, "341104,某镇,town,341100"],
        "第 5 行：级别“town”应为 province、city 或 county",
    ),
    "wrong parent level": (
        [HEADER, *GOOD_LINES, "341105,越级县,county,340000"],
        "第 5 行：上级区划 340000 的级别不对",
    ),
    "bad kind": (
        [HEADER + ",kind", *GOOD_LINES, "341171,滁州经济技术开发区,county,341100,zone"],
        "第 5 行：类型“zone”应为 admin 或 functional",
    ),
    "functional city": (
        [HEADER + ",kind", *GOOD_LINES, "341200,某新区,city,340000,functional"],
        "第 5 行：功能区应为县级",
    ),
}


@pytest.fixture
def existing_divisions(tmp_path):
    """A table that already holds data the bad files would change (rename, add, deactivate)."""
    small = tmp_path / "small.csv"
    small.write_text(
        "\n".join([HEADER, "340000,安徽省,province,", "341100,滁州市,city,340000", "341102,琅琊区,county,341100"]),
        encoding="utf-8",
    )
    divisions_import(path=small)
    return [
        ("340000", "安徽省", "province", None, True),
        ("341100", "滁州市", "city", "340000", True),
        ("341102", "琅琊区", "county", "341100", True),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_file_raises_and_changes_nothing(case, tmp_path, existing_divisions):
    lines, message = MALFORMED[case]
    bad = _write(tmp_path, *lines)
    assert _snapshot() == existing_divisions

    with pytest.raises(DivisionImportError) as excinfo:
        divisions_import(path=bad)

    assert str(excinfo.value) == message
    assert _snapshot() == existing_divisions


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_file_on_an_empty_table_imports_nothing(case, tmp_path):
    lines, message = MALFORMED[case]

    with pytest.raises(DivisionImportError) as excinfo:
        divisions_import(path=_write(tmp_path, *lines))

    assert str(excinfo.value) == message
    assert Division.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(MALFORMED))
def test_the_command_reports_a_malformed_file_in_chinese_and_changes_nothing(case, tmp_path, existing_divisions):
    lines, message = MALFORMED[case]
    bad = _write(tmp_path, *lines)

    with pytest.raises(CommandError) as excinfo:
        call_command("import_divisions", file=str(bad))

    assert str(excinfo.value) == f"区划导入失败，未做任何更改：{message}"
    assert _snapshot() == existing_divisions


@pytest.mark.django_db
def test_the_command_imports_and_reports_counts():
    out = StringIO()
    call_command("import_divisions", stdout=out)
    call_command("import_divisions", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == "区划导入完成：共 3346 条，新增 3346，更新 0，停用 0"
    assert lines[1].startswith("新增（3346）：110000 北京市、110100 市辖区、110101 东城区、")
    assert lines[1].endswith("……（另有 3326 条，加 -v 2 列出全部）") and lines[1].count("、") == 19
    assert lines[2:] == ["区划导入完成：共 3346 条，新增 0，更新 3346，停用 0"]
    assert Division.objects.count() == 3346



@pytest.mark.django_db
def test_the_command_lists_every_code_at_verbosity_2():
    everything = StringIO()
    call_command("import_divisions", stdout=everything, verbosity=2)
    assert everything.getvalue().splitlines()[1].count("、") == 3345
    assert "另有" not in everything.getvalue()


# --- the 民政部 table with functional areas, and the diff of a changed dataset ------------------------------


@pytest.mark.django_db
def test_functional_areas_are_typed_and_still_get_their_kexie():
    from orgs.models import DivisionKind, Organization
    from orgs.services import organizations_ensure_for_province

    divisions_import()
    zone = Division.objects.get(code="341171")
    assert (zone.name, zone.level, zone.kind, zone.parent_id) == ("中新苏滁高新技术产业开发区", "county", "functional", "341100")
    assert Division.objects.filter(kind=DivisionKind.FUNCTIONAL).count() == 124
    assert Division.objects.filter(code__startswith="34", level="county", kind="admin").count() == 104
    # Two Xinjiang counties of the 民政部 table that the NBS list of 2023 lacked.
    assert list(Division.objects.filter(code__in=["653228", "653229"]).values_list("name", "kind")) == [
        ("和康县", "admin"), ("和安县", "admin")]
    assert not Division.objects.filter(code="232761").exists()  # 加格达奇区: NBS only, not in the table

    organizations_ensure_for_province(province_code="340000")
    park = Organization.objects.get(division_id="341171")
    assert (park.name, park.level, park.parent.division_id) == ("中新苏滁高新技术产业开发区科学技术协会", "county", "341100")


@pytest.mark.django_db
def test_a_functional_area_is_no_subject_division_but_its_kexie_may_apply_for_its_citys_counties():
    from orgs.services import organizations_ensure_for_province

    divisions_import()
    organizations_ensure_for_province(province_code="340000")
    from orgs.models import Organization

    def choices(code):
        return list(Division.objects.subject_choices(applicant=Organization.objects.get(division_id=code))
                    .order_by("code").values_list("code", flat=True))

    chuzhou_counties = ["341102", "341103", "341122", "341124", "341125", "341126", "341181", "341182"]
    assert choices("341171") == chuzhou_counties  # the park's 科协: the GB/T 2260 counties of 滁州
    assert choices("341102") == ["341102"]
    assert choices("341100") == ["341100", *chuzhou_counties]  # no 341171, 341172
    assert "341171" not in choices("340000") and "341102" in choices("340000")


V1 = [
    HEADER + ",kind",
    "340000,安徽省,province,,admin",
    "341100,滁州市,city,340000,admin",
    "341200,阜阳市,city,340000,admin",
    "341102,琅琊区,county,341100,admin",
    "341103,南谯区,county,341100,admin",
    "341171,中新苏滁高新技术产业开发区,county,341100,admin",
    "341203,颍东区,county,341200,admin",
    "341299,旧县,county,341200,admin",
]
V2 = [
    HEADER + ",kind",
    "340000,安徽省,province,,admin",
    "341100,滁州市,city,340000,admin",
    "341200,阜阳市,city,340000,admin",
    "341102,琅琊新区,county,341100,admin",  # renamed
    "341103,南谯区,county,341200,admin",  # moved (a made-up move, to test the diff)
    "341171,中新苏滁高新技术产业开发区,county,341100,functional",  # typed as a functional area
    "341203,颍东区,county,341200,admin",
    "341204,颍泉区,county,341200,admin",  # added
    # 341299 retired
]


@pytest.mark.django_db
def test_the_import_prints_the_diff_of_a_changed_dataset_and_tells_the_administrators(tmp_path):
    from orgs.models import Level, Organization
    from tests.factories import UserFactory
    from workflows.models import Notification

    divisions_import(path=_write(tmp_path, *V1))
    fuyang = Organization.objects.create(name="阜阳市科学技术协会", level=Level.CITY, division_id="341200")
    old_county = Organization.objects.create(name="旧县科学技术协会", level=Level.COUNTY, division_id="341299",
                                             parent=fuyang)
    UserFactory(username="root", is_superuser=True)
    (tmp_path / "v2").mkdir()
    out = StringIO()

    call_command("import_divisions", file=str(_write(tmp_path / "v2", *V2)), stdout=out)

    assert out.getvalue().splitlines() == [
        "区划导入完成：共 8 条，新增 1，更新 7，停用 1",
        "新增（1）：341204 颍泉区",
        "更名（1）：341102 琅琊区 → 琅琊新区",
        "迁移（上级区划变更）（1）：341103 341100 → 341200",
        "类型变更（1）：341171 admin → functional",
        "停用（1）：341299 旧县",
        "1 个组织所在的区划已停用，已通知管理员",
    ]
    assert _snapshot() == [
        ("340000", "安徽省", "province", None, True),
        ("341100", "滁州市", "city", "340000", True),
        ("341102", "琅琊新区", "county", "341100", True),
        ("341103", "南谯区", "county", "341200", True),
        ("341171", "中新苏滁高新技术产业开发区", "county", "341100", True),
        ("341200", "阜阳市", "city", "340000", True),
        ("341203", "颍东区", "county", "341200", True),
        ("341204", "颍泉区", "county", "341200", True),
        ("341299", "旧县", "county", "341200", False),
    ]
    note = Notification.objects.get(kind="divisions")
    assert (note.user.username, note.title) == ("root", "1 个组织的行政区划已停用")
    assert f"· {old_county.name}（341299 旧县）" in note.body

    # The same file again: nothing changed, nobody told again.
    again = StringIO()
    call_command("import_divisions", file=str(tmp_path / "v2" / "divisions.csv"), stdout=again)
    assert again.getvalue().splitlines() == ["区划导入完成：共 8 条，新增 0，更新 8，停用 0"]
    assert Notification.objects.filter(kind="divisions").count() == 1
