"""The dashboards of designations (issue 15), each within what the person sees (approvals.access
.designation_scope_q) and each an Excel sheet too: annual reports due and overdue per city, the distribution
of grades, sites in force per program and city, and renewals due in the next 90 days. Every one is one
aggregate query (the renewals two: counts and the first rows), whatever the number of designations."""
import datetime as dt
import io
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

from approvals.models import Program
from approvals.stages import Grade, ReportStatus
from approvals.xlsx import append_row
from orgs.models import Organization

from .models import IN_FORCE, OPEN_RENEWAL, AnnualReport, Designation

RENEWALS_DAYS = 90
RENEWALS_ROWS = 100
UNSUBMITTED = (ReportStatus.DRAFT, ReportStatus.SIGNOFF)


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    header: tuple
    rows: list

    @property
    def shown_rows(self) -> list[list]:
        """The rows as the page shows them: dates as YYYY-MM-DD, the rest as they are (formatted here once,
        not looked up cell by cell in the template: hundreds of cells on a province's page)."""
        return [[f"{cell:%Y-%m-%d}" if isinstance(cell, dt.date) else cell for cell in row] for row in self.rows]


def _name(field: str) -> Subquery:
    """The name of the organization whose id is the grouped column `field`. Annotated after the counts
    (in an annotate() of its own, so that Django groups by the ids alone), it is read once per group and
    the groups are sorted by it: a join before grouping would carry a name through each of a province's
    thousands of rows (docs/after-designation.md)."""
    return Subquery(Organization.objects.filter(pk=OuterRef(field)).order_by().values("name")[:1])


def reports_by_city(scope: Q, *, year: int, today: dt.date) -> Table:
    """The year's reports per city: to report and not yet due, overdue, under review, graded. Counted on
    the reports alone (their copy of the designation's path, city and province: AnnualReport.applicant_path),
    grouped by ids, then named (_name)."""
    rows = (AnnualReport.objects.filter(scope, year=year)
            .values("province_id", "city_id")
            .annotate(total=Count("pk"),
                      due=Count("pk", filter=Q(status__in=UNSUBMITTED, window__due_on__gte=today)),
                      overdue=Count("pk", filter=Q(status__in=UNSUBMITTED, window__due_on__lt=today)),
                      reviewing=Count("pk", filter=~Q(status__in=UNSUBMITTED) & ~Q(status=ReportStatus.GRADED)),
                      graded=Count("pk", filter=Q(status=ReportStatus.GRADED)))
            .annotate(province_name=_name("province_id"), city_name=_name("city_id"))
            .order_by("province_name", "city_name", "city_id"))
    return Table("reports", _("年度报告报送情况（按市）"),
                 (_("省"), _("市"), _("应报"), _("待报送（未到期）"), _("逾期未报"), _("审核中"), _("已评定")),
                 [(r["province_name"], r["city_name"], r["total"], r["due"], r["overdue"], r["reviewing"],
                   r["graded"]) for r in rows])


def grade_distribution(scope: Q) -> Table:
    """Graded reports per year and grade."""
    counts: dict[int, dict[str, int]] = {}
    rows = (AnnualReport.objects.filter(scope, status=ReportStatus.GRADED).values("year", "grade")
            .annotate(n=Count("pk")).order_by("-year"))
    for row in rows:
        counts.setdefault(row["year"], {})[row["grade"]] = row["n"]
    return Table("grades", _("评定等次分布"), (_("报告年度"), *[label for _v, label in Grade.choices], _("合计")),
                 [(year, *[by.get(g, 0) for g in Grade.values], sum(by.values())) for year, by in counts.items()])


def sites_by_program_and_city(scope: Q, *, today: dt.date) -> Table:
    """Designations in force per program and city."""
    rows = (Designation.objects.filter(scope, status__in=IN_FORCE, valid_until__gte=today)
            .values("program_id", "province_id", "city_id")
            .annotate(n=Count("pk"))
            .annotate(program_name=Subquery(Program.objects.filter(pk=OuterRef("program_id")).order_by()
                                            .values("name_zh")[:1]),
                      province_name=_name("province_id"), city_name=_name("city_id"))
            .order_by("program_name", "province_name", "city_name", "city_id"))
    return Table("sites", _("授牌单位分布（按类别和市）"), (_("类别"), _("省"), _("市"), _("授牌数")),
                 [(r["program_name"], r["province_name"], r["city_name"], r["n"]) for r in rows])


def renewals_due(scope: Q, *, today: dt.date) -> Table:
    """Designations in force whose validity ends within 90 days, soonest first, with their renewal's stage."""
    until = today + dt.timedelta(days=RENEWALS_DAYS)
    qs = (Designation.objects.filter(scope, status__in=IN_FORCE, valid_until__gte=today, valid_until__lte=until)
          .annotate(open_renewals=Count("renewals", filter=Q(renewals__status__in=OPEN_RENEWAL)))
          .values("awardee_name", "program__name_zh", "city__name", "applicant__name", "valid_until",
                  "open_renewals")
          .order_by("valid_until", "pk")[:RENEWALS_ROWS])
    return Table("renewals", _("90 天内到期待续期"),
                 (_("授牌名称"), _("类别"), _("市"), _("申报单位"), _("有效期止"), _("续期申请")),
                 [(r["awardee_name"], r["program__name_zh"], r["city__name"], r["applicant__name"], r["valid_until"],
                   str(_("办理中")) if r["open_renewals"] else str(_("未提交"))) for r in qs])


DASHBOARDS = ("reports", "grades", "sites", "renewals")


def dashboard_tables(scope: Q, *, year: int | None = None, today: dt.date | None = None,
                     only: str | None = None) -> list[Table]:
    """The dashboards (or `only` one): `scope` (approvals.access.designation_scope_q) on Designation and
    on AnnualReport alike, which carries its designation's path."""
    today = today or timezone.localdate()
    year = year or today.year
    builders = {
        "reports": lambda: reports_by_city(scope, year=year, today=today),
        "grades": lambda: grade_distribution(scope),
        "sites": lambda: sites_by_program_and_city(scope, today=today),
        "renewals": lambda: renewals_due(scope, today=today),
    }
    return [builders[name]() for name in DASHBOARDS if only in (None, name)]


def table_workbook(table: Table) -> bytes:
    """One dashboard as an Excel workbook (cells through approvals.xlsx: numbers, dates, safe text)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = str(table.title)[:31]
    append_row(sheet, [str(h) for h in table.header])
    for row in table.rows:
        append_row(sheet, row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
