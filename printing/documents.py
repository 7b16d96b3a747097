"""The printed documents of an application and of a batch, built from the database only.

* 申报书 (application form) of any revision: every form field (lists as tables), the attachment list with
  SHA-256, and the opinion block of every level of the program's chain with the opinions recorded for
  that revision (意见, person, date), plus blank signature and stamp areas.
* 推荐函 (the city's recommendation letter to the province) and 推荐汇总表 (summary table, PDF and Excel)
  for one city in one batch: the applications the city recommended (those counted against its quota).
* 公示名单 (public notice list) of a batch: applications in public notice, approved or certified, with
  their notice dates; as a PDF and as the public page ``/notice/<batch_id>/``.

Everything here reads; nothing writes. Scope checks belong to the views.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Max, Q
from django.utils import timezone

from approvals.models import (
    RECOMMENDED_STATUSES,
    Application,
    Attachment,
    Batch,
    ExpertAssignment,
    Opinion,
    Revision,
    Stage,
    Status,
)
from approvals.xlsx import write_cell
from orgs.models import Division, Level, Organization
from security import masking

from . import signing, wording
from .models import DocumentKind, OrganizationProfile
from .render import render_fitted, render_html, render_pdf

NOTICE_STATUSES = (Status.PUBLIC_NOTICE, Status.APPROVED, Status.CERTIFIED)

# Which level's block an opinion of each stage is printed in (the stage the application was in).
_STAGE_LEVEL = {
    Status.APPLICANT_SIGNOFF: "applicant",
    Status.CITY_REVIEW: Level.CITY,
    Status.PROVINCE_CHECK: Level.PROVINCE,
    Status.EXPERT_REVIEW: Level.PROVINCE,
    Status.DECISION: Level.PROVINCE,
    Status.PUBLIC_NOTICE: Level.PROVINCE,
    Status.APPROVED: Level.PROVINCE,
    Status.CERTIFIED: Level.PROVINCE,
}
_STAGE_LABELS = {**{s.value: s.label for s in Stage}, Status.CERTIFIED: "撤销认定", Status.APPROVED: "认定"}


class RevisionNotFound(LookupError):
    """The requested revision of an application does not exist (yet)."""


def person_name(user) -> str:
    if user is None:
        return ""
    return (user.get_full_name() or "").strip() or user.get_username()


def cn_date(value) -> str:
    """2026年1月5日 (the way dates are written in official documents)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return f"{value.year}年{value.month}月{value.day}日"


def _choice_label(spec: dict, value) -> str:
    for choice in spec.get("choices", []):
        code, label = (choice[0], choice[1]) if isinstance(choice, list | tuple) else (choice, choice)
        if code == value:
            return str(label)
    return "" if value is None else str(value)


def _display(spec: dict, value) -> str:
    if value is None or value == "":
        return ""
    kind = spec.get("type", "text")
    if kind == "choice":
        return _choice_label(spec, value)
    if kind == "bool":
        return "是" if value else "否"
    return str(value)


# ------------------------------------------------------------------------------------------ 申报书


@dataclass
class FormField:
    label: str
    kind: str
    value: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    chunks: list[str] = field(default_factory=list)


# A long text field is printed as rows of at most this many characters (about five lines of the value
# column), each row unbreakable: the field fills the page it starts on and continues on the next, where
# the first row carries the label again with （续） (see application_form_pdf). Short rows would waste less
# of a page's foot but add rows; five lines waste at most five.
CHUNK_CHARACTERS = 170
_SENTENCE_ENDS = "。！？；!?;"


def text_chunks(text: str, size: int = CHUNK_CHARACTERS) -> list[str]:
    """``text`` cut into pieces of at most ``size`` characters: short paragraphs together (kept apart by
    a line break), a long paragraph cut after the last sentence end in the second half of a piece (else
    at ``size``)."""
    chunks: list[str] = []
    for paragraph in (text or "").splitlines() or [""]:
        first = True
        while True:
            if len(paragraph) > size:
                cut = max(paragraph.rfind(mark, size // 2, size) for mark in _SENTENCE_ENDS)
                piece, paragraph = (paragraph[:cut + 1], paragraph[cut + 1:]) if cut >= 0 else \
                    (paragraph[:size], paragraph[size:])
            else:
                piece, paragraph = paragraph, ""
            if first and chunks and len(chunks[-1]) + len(piece) < size:
                chunks[-1] = f"{chunks[-1]}\n{piece}"
            else:
                chunks.append(piece)
            first = False
            if not paragraph:
                break
    return chunks


@dataclass
class OpinionBlock:
    title: str
    organization: str
    opinions: list[dict]


def _form_fields(program, form_data: dict) -> list[FormField]:
    fields = []
    for spec in program.form_fields:
        value = form_data.get(spec["name"])
        if spec.get("type") == "list":
            items = spec.get("item_fields", [])
            rows = [[_display(item, (row or {}).get(item["name"])) for item in items] for row in (value or [])]
            fields.append(FormField(spec.get("label", spec["name"]), "list",
                                    columns=[item.get("label", item["name"]) for item in items], rows=rows))
        else:
            text = _display(spec, value)
            fields.append(FormField(spec.get("label", spec["name"]), spec.get("type", "text"), text,
                                    chunks=text_chunks(text)))
    return fields


def form_field_rows(fields: list[FormField], located: dict[str, int]) -> list[dict]:
    """The rows of the 申报内容 table: one per chunk of each non-list field. A chunk that begins a page
    (``located``: page of each row, from a previous layout) carries the label again with （续）; rows of one
    field share their cell borders except at a page's foot and head."""
    rows = []
    for index, item in enumerate(fields):
        if item.kind == "list":
            continue
        last = len(item.chunks) - 1
        for number, chunk in enumerate(item.chunks):
            key = f"f{index}c{number}"
            page, before, after = (located.get(f"f{index}c{n}") for n in (number, number - 1, number + 1))
            starts_page = number > 0 and page is not None and before is not None and page != before
            ends_page = number < last and page is not None and after is not None and page != after
            label = item.label if number == 0 else (f"{item.label}（续）" if starts_page else "")
            classes = [name for name, on in (("joined-above", number > 0 and not starts_page),
                                             ("joined-below", number < last and not ends_page),
                                             ("continued", starts_page)) if on]
            rows.append({"key": key, "label": label, "text": chunk, "classes": " ".join(classes)})
    return rows


def _attachment_rows(program, attachments: dict[str, list[dict]]) -> list[dict]:
    labels = {kind["code"]: kind["label"] for kind in program.attachment_kinds}
    order = list(labels) + sorted(set(attachments) - set(labels))
    rows = []
    for kind in order:
        for item in attachments.get(kind, []):
            rows.append({"kind": labels.get(kind, kind), "name": item["name"], "size": item.get("size"),
                         "sha256": item.get("sha256", "")})
    for kind in labels:
        if kind not in attachments:
            rows.append({"kind": labels[kind], "name": "", "size": None, "sha256": "", "missing": True})
    return rows


def _live_attachments(application: Application) -> dict[str, list[dict]]:
    attachments: dict[str, list[dict]] = {}
    for att in Attachment.objects.filter(application=application, removed_in__isnull=True).order_by("kind", "pk"):
        attachments.setdefault(att.kind, []).append({"name": att.original_name, "sha256": att.sha256,
                                                     "size": att.size})
    return attachments


def _opinion_blocks(application: Application, revision: int) -> list[OpinionBlock]:
    program = application.program
    opinions = (
        Opinion.objects.filter(application=application, revision=revision)
        .select_related("person", "organization").order_by("created_at", "id")
    )
    by_level: dict[str, list[dict]] = {}
    for opinion in opinions:
        level = _STAGE_LEVEL.get(opinion.stage, Level.PROVINCE)
        by_level.setdefault(level, []).append({
            "stage": _STAGE_LABELS.get(opinion.stage, opinion.get_stage_display()),
            "decision": opinion.get_decision_display(),
            "text": opinion.text,
            "person": person_name(opinion.person),
            "organization": opinion.organization.name,
            "date": cn_date(opinion.created_at),
        })
    applicant_title = {Level.COUNTY: "县级科协审核意见", Level.CITY: "市级科协审核意见"}.get(
        program.applicant_level, "申报单位审核意见"
    )
    blocks = [OpinionBlock(applicant_title, application.applicant.name, by_level.get("applicant", []))]
    if Status.CITY_REVIEW in program.chain:
        blocks.append(OpinionBlock("市级科协推荐意见", application.city.name, by_level.get(Level.CITY, [])))
    blocks.append(OpinionBlock("省级科协审查认定意见", application.province.name, by_level.get(Level.PROVINCE, [])))
    return blocks


def application_form_context(application: Application, revision: int | None = None, *,
                             masked: bool = False) -> dict:
    """Context of printing/application_form.html for ``revision`` (default: the current one).

    A submitted revision prints its frozen copy; the current revision while still a draft prints the
    live data and attachments. Raises :class:`RevisionNotFound` for any other number.
    """
    number = application.revision if revision is None else int(revision)
    frozen = Revision.objects.filter(application=application, number=number).first()
    if frozen is not None:
        subject_name, uscc, division_code = frozen.subject_name, frozen.uscc, frozen.division_code
        form_data, attachments, frozen_at = frozen.form_data, frozen.attachments, frozen.created_at
    elif number == application.revision:
        subject_name, uscc, division_code = application.subject_name, application.uscc, application.division_id
        form_data, attachments, frozen_at = application.form_data, _live_attachments(application), None
    else:
        raise RevisionNotFound(number)
    division = Division.objects.filter(code=division_code).first()
    program = application.program
    if masked:  # personal data masked for whoever does not act on it (approvals.access.personal_data_in_full)
        uscc = masking.mask(uscc, masking.USCC)
        form_data = masking.mask_form_data(program.form_fields, form_data or {})
    return {
        "application": application,
        "program": program,
        "batch": application.batch,
        "revision": number,
        "is_draft": frozen is None,
        "submitted_on": cn_date(frozen_at),
        "subject_name": subject_name,
        "uscc": uscc,
        "division": f"{division_code} {division.name}" if division else division_code,
        "applicant": application.applicant.name,
        "city": application.city.name,
        "province": application.province.name,
        "fields": _form_fields(program, form_data or {}),
        "attachments": _attachment_rows(program, attachments or {}),
        "opinion_blocks": _opinion_blocks(application, number),
        "printed_on": cn_date(timezone.localdate()),
    }


def expert_score_rows(application: Application, revision: int) -> list[dict]:
    """The experts' scores and comments of ``revision``, for the province's copy of the 申报书 only."""
    rows = []
    assignments = (ExpertAssignment.objects.filter(application=application, revision=revision)
                   .select_related("expert").order_by("pk"))
    for assignment in assignments:
        rows.append({"expert": person_name(assignment.expert),
                     "score": "" if assignment.score is None else f"{assignment.score:.1f}",
                     "comment": assignment.comment,
                     "date": cn_date(assignment.scored_at) if assignment.scored_at else "未评分"})
    return rows


# A 申报书 weighing more than this (characters of its fields, plus LIST_ROW_WEIGHT for each list row) is
# rendered by the worker (render_form_task), not in the request: a layout takes about 70 µs a
# character and a long field needs a second one (its （续） labels), so up to this weight a print stays
# within about 1.5 s in the web process (measured on the 2-core test machine). The form's own limits (approvals.formspec) bound the worker's
# render too.
LARGE_FORM_WEIGHT = 10_000
LIST_ROW_WEIGHT = 20


@dataclass
class FormDocument:
    """A 申报书 ready to lay out: ``build(located)`` makes its HTML (see render_fitted), ``digest`` names
    what it prints (the SHA-256 of its first HTML: the data, the opinions, the scores of a province's
    copy and the print date), ``weight`` estimates its layout time."""

    build: object
    digest: str
    weight: int

    @property
    def large(self) -> bool:
        return self.weight > LARGE_FORM_WEIGHT

    def pdf(self) -> bytes:
        return render_fitted(self.build).pdf


def application_form_document(application: Application, revision: int | None = None, *,
                              province_copy: bool = False, masked: bool = False) -> FormDocument:
    """The 申报书; ``province_copy`` adds the experts' scores (the caller checks who may see them).

    Long fields are cut into rows (form_field_rows) and laid out until the rows that begin a page carry
    their label with （续） (printing.render.render_fitted: one layout when no field crosses a page)."""
    context = application_form_context(application, revision, masked=masked)
    if province_copy:
        scores = expert_score_rows(application, context["revision"])
        given = [Decimal(row["score"]) for row in scores if row["score"]]
        context.update(province_copy=True, expert_scores=scores,
                       score_average=f"{sum(given) / len(given):.1f}" if given else "")

    # Opinion blocks found to run over a page break (title and signature on different pages) may break
    # where they stand instead of moving whole to the next page first; once found, for good.
    spanning: set[int] = set()

    def build(located: dict[str, int]) -> str:
        for number in range(1, len(context["opinion_blocks"]) + 1):
            title, sign = located.get(f"obt{number}"), located.get(f"sign{number}")
            if title is not None and sign is not None and title != sign:
                spanning.add(number)
        return render_html("printing/application_form.html",
                           {**context, "field_rows": form_field_rows(context["fields"], located),
                            "spanning_blocks": sorted(spanning)})

    weight = sum(len(f.value) + sum(sum(map(len, row)) + LIST_ROW_WEIGHT for row in f.rows) for f in context["fields"])
    weight += sum(len(o["text"]) for block in context["opinion_blocks"] for o in block.opinions)
    first = build({})
    return FormDocument(build=lambda located: first if not located else build(located),
                        digest=hashlib.sha256(first.encode()).hexdigest(), weight=weight)


def application_form_pdf(application: Application, revision: int | None = None, *,
                         province_copy: bool = False) -> bytes:
    return application_form_document(application, revision, province_copy=province_copy).pdf()


# --------------------------------------------------------------------------- 推荐函 and 推荐汇总表


def recommended_applications(batch: Batch, city: Organization) -> list[Application]:
    """The applications ``city`` recommended in ``batch`` (those counted against its quota), in the order
    they were recommended."""
    # The city's act is its recommendation, or its own sign-off where the city is the applicant (no city
    # review in the chain); the latest one counts if the province returned the application meanwhile.
    action = "recommend" if Status.CITY_REVIEW in batch.program.chain else "sign_off"
    return list(
        Application.objects.filter(batch=batch, city=city, status__in=RECOMMENDED_STATUSES)
        .select_related("applicant", "program", "division")
        .annotate(recommended_at=Max("events__created_at", filter=Q(events__action=action)))
        .order_by("recommended_at", "pk")
    )


SUMMARY_COLUMNS = [
    ("index", "序号", 6),
    ("subject_name", "申报主体名称", 34),
    ("uscc", "统一社会信用代码", 22),
    ("applicant", "申报单位", 22),
    ("division", "所在地区", 16),
    ("responsible_person", "负责人", 10),
    ("contact_person", "联系人", 10),
    ("phone", "联系电话", 15),
    ("recommended_on", "推荐日期", 14),
    ("status", "当前状态", 12),
]


def summary_columns(program) -> list[tuple[str, str, int]]:
    """The columns of the summary table; a city applying for itself has an 申报日期, not a 推荐日期."""
    date_label = wording.letter_wording(program, "").date_label
    return [(key, date_label if key == "recommended_on" else label, width) for key, label, width in SUMMARY_COLUMNS]


def summary_rows(batch: Batch, city: Organization, in_full=None) -> list[dict]:
    """`in_full(application)`: whether the reader sees its USCC and contact phone in full (approvals.access.
    personal_data_in_full); masked otherwise (security.masking). None: in full (the system's own use)."""
    rows = []
    for index, application in enumerate(recommended_applications(batch, city), start=1):
        data = application.form_data or {}
        full = in_full is None or in_full(application)
        phone = str(data.get("phone", ""))
        rows.append({
            "index": index,
            "subject_name": application.subject_name,
            "uscc": application.uscc if full else masking.mask(application.uscc, masking.USCC),
            "applicant": application.applicant.name,
            "division": application.division.name if application.division_id else "",
            "responsible_person": str(data.get("responsible_person", "")),
            "contact_person": str(data.get("contact_person", "")),
            "phone": phone if full else masking.mask(phone, masking.PHONE),
            "recommended_on": (timezone.localtime(application.recommended_at).date()
                               if application.recommended_at else None),
            "status": application.get_status_display(),
        })
    return rows


def _batch_city_context(batch: Batch, city: Organization) -> dict:
    return {
        "batch": batch,
        "program": batch.program,
        "wording": wording.letter_wording(batch.program, batch.name),
        "province": batch.province,
        "city": city,
        "date": cn_date(timezone.localdate()),
    }


def _contact(organization: Organization) -> dict:
    profile = OrganizationProfile.objects.filter(organization=organization).first()
    if profile is None:
        return {}
    return {"person": profile.contact_person, "phone": profile.contact_phone, "address": profile.contact_address,
            "postal_code": profile.postal_code}


def recommendation_letter_context(batch: Batch, city: Organization) -> dict:
    """The city's letter: numbered and dated at its first print (printing.services.document_issue)."""
    from .services import document_issue

    issued = document_issue(organization=city, kind=DocumentKind.RECOMMENDATION_LETTER, batch=batch)
    division_name = city.division.name if city.division_id else city.name
    return {
        **_batch_city_context(batch, city),
        "applications": recommended_applications(batch, city),
        "program_title": wording.certificate_title(batch.program, division_name),
        "doc_number": issued.number,
        "doc_date": cn_date(issued.dated),
        "contact": _contact(city),
    }


def gongwen_document(template_name: str, context: dict):
    """A letter or notice (GB/T 9704 layout), laid out again with a tighter line pitch when its signature
    (with the seal area) would not be on the page where the body before the closing group ends; once
    tight it stays tight (a looser pass would move the signature again)."""
    tight = False

    def build(located: dict[str, int]) -> str:
        nonlocal tight
        signature, body_end = located.get("signature"), located.get("body-end")
        tight = tight or (signature is not None and body_end is not None and signature != body_end)
        return render_html(template_name, {**context, "tight": tight})

    return render_fitted(build)


def recommendation_letter_pdf(batch: Batch, city: Organization) -> bytes:
    """The letter, signed with the city's key when it has one (the seal in its seal area)."""
    rendered = gongwen_document("printing/recommendation_letter.html", recommendation_letter_context(batch, city))
    return signing.sign_rendered(rendered, organization=city, reason="推荐函")


def summary_pdf(batch: Batch, city: Organization, in_full=None) -> bytes:
    context = {**_batch_city_context(batch, city), "rows": summary_rows(batch, city, in_full),
               "columns": [(key, label) for key, label, _width in summary_columns(batch.program)]}
    return render_pdf("printing/summary_table.html", context)


def summary_xlsx(batch: Batch, city: Organization, in_full=None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    rows = summary_rows(batch, city, in_full)
    words = wording.letter_wording(batch.program, batch.name)
    columns = summary_columns(batch.program)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = words.table_title.removeprefix(batch.name)[:31]
    width = len(columns)
    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)

    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    write_cell(sheet.cell(1, 1), words.table_title)
    sheet.cell(1, 1).font = Font(name="宋体", size=16, bold=True)
    sheet.cell(1, 1).alignment = center
    sheet.row_dimensions[1].height = 30
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    write_cell(sheet.cell(2, 1), f"{words.verb}单位（盖章）：{city.name}    申报类别：{batch.program.name_zh}    "
                                 f"{words.verb}数量：{len(rows)}    填报日期：{timezone.localdate().isoformat()}")
    sheet.cell(2, 1).font = Font(name="宋体", size=11)

    for column, (_key, label, col_width) in enumerate(columns, start=1):
        cell = sheet.cell(3, column)
        write_cell(cell, label)
        cell.font = Font(name="宋体", size=11, bold=True)
        cell.alignment, cell.border = center, border
        sheet.column_dimensions[get_column_letter(column)].width = col_width
    for offset, row in enumerate(rows):
        for column, (key, _label, _width) in enumerate(columns, start=1):
            cell = sheet.cell(4 + offset, column)
            write_cell(cell, row[key])
            cell.font = Font(name="宋体", size=11)
            cell.border = border
            cell.alignment = Alignment(vertical="center", wrap_text=True,
                                       horizontal="center" if key in ("index", "recommended_on") else "left")
    footer = 4 + len(rows) + 1
    sheet.merge_cells(start_row=footer, start_column=1, end_row=footer, end_column=width)
    write_cell(sheet.cell(footer, 1), "负责人（签字）：                经办人：                联系电话：")
    sheet.cell(footer, 1).font = Font(name="宋体", size=11)

    sheet.freeze_panes = "A4"
    sheet.print_title_rows = "3:3"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    workbook.properties.creator = city.name
    workbook.properties.title = words.table_title
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------ 公示名单


def notice_entries(batch: Batch) -> list[Application]:
    """Applications of ``batch`` in public notice, approved or certified, by city then name."""
    return list(
        Application.objects.filter(batch=batch, status__in=NOTICE_STATUSES, notice_starts_on__isnull=False)
        .select_related("city", "applicant", "division")
        .order_by("city__path", "subject_name", "pk")
    )


def notice_context(batch: Batch) -> dict:
    """The public notice list (the public page reads this too; it is not numbered)."""
    entries = notice_entries(batch)
    starts = [a.notice_starts_on for a in entries if a.notice_starts_on]
    ends = [a.notice_ends_on for a in entries if a.notice_ends_on]
    # An end counted through a year whose holiday arrangement is not loaded yet is printed as 估算.
    estimated_years = sorted({a.notice_ends_on.year for a in entries if a.notice_ends_on_is_estimate})
    return {
        "batch": batch,
        "program": batch.program,
        "province": batch.province,
        "recommends": wording.city_recommends(batch.program),
        "entries": entries,
        "period_start": cn_date(min(starts)) if starts else "",
        "period_end": cn_date(max(ends)) if ends else "",
        "period_end_is_estimate": any(a.notice_ends_on_is_estimate for a in entries if a.notice_ends_on == max(ends)),
        "estimated_years": "、".join(str(y) for y in estimated_years),
        "date": cn_date(min(starts)) if starts else cn_date(timezone.localdate()),
        "contact": _contact(batch.province),
    }


def notice_document_context(batch: Batch) -> dict:
    """The notice as the province issues it: numbered and dated at its first print."""
    from .services import document_issue

    issued = document_issue(organization=batch.province, kind=DocumentKind.NOTICE, batch=batch)
    return {**notice_context(batch), "doc_number": issued.number, "doc_date": cn_date(issued.dated)}


def notice_pdf(batch: Batch) -> bytes:
    """The notice, signed with the province's key when it has one."""
    rendered = gongwen_document("printing/notice_list.html", notice_document_context(batch))
    return signing.sign_rendered(rendered, organization=batch.province, reason="公示")
