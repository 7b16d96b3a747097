"""The dashboards of designations (issue 15), each within what the person sees (approvals.access
.designation_scope_q) and each an Excel sheet too: annual reports due and overdue per city, the distribution
of grades, sites in force per program and city, and renewals due in the next 90 days. Every one is one
aggregate query (the renewals two: counts and the first rows), whatever the number of designations."""
import datetime as dt
import io
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

from approvals.stages import Grade, ReportStatus
from approvals.xlsx import append_row

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


def reports_by_city(scope: Q, *, year: int, today: dt.date) -> Table:
    """The year's reports per city: to report and not yet due, overdue, under review, graded."""
    rows = (AnnualReport.objects.filter(scope, year=year)
            .values("designation__province__name", "designation__city__name")
            .annotate(total=Count("pk"),
                      due=Count("pk", filter=Q(status__in=UNSUBMITTED, window__due_on__gte=today)),
                      overdue=Count("pk", filter=Q(status__in=UNSUBMITTED, window__due_on__lt=today)),
                      reviewing=Count("pk", filter=~Q(status__in=UNSUBMITTED) & ~Q(status=ReportStatus.GRADED)),
                      graded=Count("pk", filter=Q(status=ReportStatus.GRADED)))
            .order_by("designation__province__name", "designation__city__name"))
    return Table("reports", _("年度报告报送情况（按市）"),
                 (_("省"), _("市"), _("应报"), _("待报送（未到期）"), _("逾期未报"), _("审核中"), _("已评定")),
                 [(r["designation__province__name"], r["designation__city__name"], r["total"], r["due"],
                   r["overdue"], r["reviewing"], r["graded"]) for r in rows])


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
            .values("program__name_zh", "province__name", "city__name").annotate(n=Count("pk"))
            .order_by("program__name_zh", "province__name", "city__name"))
    return Table("sites", _("授牌单位分布（按类别和市）"), (_("类别"), _("省"), _("市"), _("授牌数")),
                 [(r["program__name_zh"], r["province__name"], r["city__name"], r["n"]) for r in rows])


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


def dashboard_tables(scope: Q, *, site_scope: Q, year: int | None = None, today: dt.date | None = None,
                     only: str | None = None) -> list[Table]:
    """The dashboards (or `only` one): `scope` on AnnualReport, `site_scope` on Designation."""
    today = today or timezone.localdate()
    year = year or today.year
    builders = {
        "reports": lambda: reports_by_city(scope, year=year, today=today),
        "grades": lambda: grade_distribution(scope),
        "sites": lambda: sites_by_program_and_city(site_scope, today=today),
        "renewals": lambda: renewals_due(site_scope, today=today),
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
