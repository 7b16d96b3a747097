"""The reports page (inline SVG bar charts drawn on the server, no script) and its Excel export."""
import io

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from security.exports import export_purpose, export_record

from .reports import Report, bar_chart, report_build
from .xlsx import append_row

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _charts(report: Report):
    return [
        bar_chart(_("按申报类别"), [(r.label, r.value) for r in report.by_program]),
        bar_chart(_("按状态"), [(r.label, r.value) for r in report.by_status]),
        bar_chart(_("按城市"), [(r.label, r.value) for r in report.by_city]),
        bar_chart(_("各环节用时中位数（工作日）"), [(s.label, s.median) for s in report.stage_days],
                  unit=_(" 天")),
    ]


class ReportsView(LoginRequiredMixin, View):
    def get(self, request):
        report = report_build(user=request.user)
        return render(request, "approvals/reports.html", {"report": report, "charts": _charts(report)})


def _sheet(workbook, title, header, rows, *, chart_title=None):
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    sheet = workbook.create_sheet(title)
    append_row(sheet, header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        append_row(sheet, list(row))
    sheet.column_dimensions["A"].width = 28
    for letter in "BCD"[: len(header) - 1]:
        sheet.column_dimensions[letter].width = 16
    if chart_title and rows:
        chart = BarChart()
        chart.type = "bar"
        chart.title = chart_title
        chart.legend = None
        chart.add_data(Reference(sheet, min_col=2, min_row=1, max_row=len(rows) + 1), titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=len(rows) + 1))
        chart.height = max(7.5, 0.6 * len(rows))
        sheet.add_chart(chart, f"{chr(ord('A') + len(header) + 1)}2")
    return sheet


def report_workbook(report: Report) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    _sheet(workbook, _("按申报类别"), [_("申报类别"), _("申报数")],
           [(r.label, r.value) for r in report.by_program], chart_title=_("按申报类别"))
    _sheet(workbook, _("按状态"), [_("状态"), _("申报数")],
           [(r.label, r.value) for r in report.by_status], chart_title=_("按状态"))
    _sheet(workbook, _("按城市"), [_("城市"), _("申报数")],
           [(r.label, r.value) for r in report.by_city], chart_title=_("按城市"))
    _sheet(workbook, _("各环节用时"), [_("环节"), _("用时中位数（工作日）"), _("已完成环节数")],
           [(s.label, s.median, s.stays) for s in report.stage_days], chart_title=_("各环节用时中位数（工作日）"))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


class ReportsExcelView(LoginRequiredMixin, View):
    def get(self, request):
        purpose, asking = export_purpose(request)
        if asking is not None:
            return asking
        content = report_workbook(report_build(user=request.user))
        response = HttpResponse(content, content_type=XLSX)
        filename = f"reports-{timezone.localdate():%Y%m%d}.xlsx"
        export_record(request, filename, purpose=purpose, document="reports_xlsx")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
