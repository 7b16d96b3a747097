"""Layout facts read from the positions of what is drawn in the rendered PDFs (pdfplumber): a long field of
the 申报书 starts on the page it follows and carries its label with （续） on every page it continues on;
each opinion block's seal area is blank, 42 mm (± 1 pt) and on the page of its signature line and of
the block's last opinion lines; no page holds only a signature, in the 申报书 and in letters of any
length."""
import io
import re

import pdfplumber
import pytest

from printing import documents

from .helpers import MM, SEAL_PT, bulk_approved, chars_inside, curves_inside, keep_artifact, seal_areas
from .layout_data import WORK_PLAN, long_application

LABEL_COLUMN_RIGHT = (18 + 38) * MM  # the 申报书's left margin and label column
FOOTER = re.compile(r"第\d+页共\d+页")
# What a signature part holds besides the opinions (the signature line, the seal's note and date).
SIGNATURE_WORDS = ("负责人（签字）：", "（盖章）", "年", "月", "日")


def page_text(page) -> str:
    return re.sub(r"\s+", "", page.extract_text() or "")


def without(text: str, words) -> str:
    for word in words:
        text = text.replace(word, "")
    return text


def first_top(page, pattern: str):
    found = page.search(pattern)
    return found[0]["top"] if found else None


def label_column(page, top: float, bottom: float) -> str:
    """The label column's text between two heights."""
    return "".join(c["text"] for c in page.chars if c["x1"] <= LABEL_COLUMN_RIGHT and top - 2 <= c["top"] <= bottom)


def check_application_form(pdf: bytes, blocks: int) -> dict:
    """Every layout fact of a 申报书; returns what it measured (for the assertions of the callers)."""
    facts = {"plan_pages": [], "seals": []}
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        pages = document.pages
        # The work plan: where its 50 numbered sentences are.
        for index, page in enumerate(pages):
            if any(f"第{i:02d}项" in page_text(page) for i in range(50)):
                facts["plan_pages"].append(index)
        first, *continued = facts["plan_pages"]
        assert continued, "a 2,000-character work plan continues on the next page"
        start = pages[first]
        assert "工作计划与目标" in page_text(start) and "第00项" in page_text(start)
        assert "（续）" not in page_text(start)
        # The first page is filled before the plan continues: below its last line at most six lines
        # (one row of the field and its padding) are left of the text block (the page less its margins).
        last_line = max(c["bottom"] for c in start.chars if not FOOTER.search(c["text"]) and c["top"] < start.height - 20 * MM)
        blank = (start.height - 20 * MM) - last_line
        text_block = start.height - 38 * MM
        facts["first_page_blank"] = blank / text_block
        assert blank < 0.2 * text_block, f"{blank / MM:.0f} mm left blank under the work plan on page {first + 1}"
        for index in continued:
            page = pages[index]
            top = min(c["top"] for c in page.chars if c["x0"] > LABEL_COLUMN_RIGHT)  # the first value line
            label = label_column(page, top, top + 30)
            assert label.startswith("工作计划与目标（续）"), f"page {index + 1}: label column reads {label!r}"

        # Opinion blocks: a seal area each, blank, 42 mm, beside its signature line, under its opinions.
        for index, page in enumerate(pages):
            for area in seal_areas(page):
                facts["seals"].append((index, area))
                assert abs(area["width"] - SEAL_PT) <= 1 and abs(area["height"] - SEAL_PT) <= 1, \
                    f"seal area {area['width']:.2f} x {area['height']:.2f} pt"
                assert chars_inside(page, area) == "", f"page {index + 1}: text under the seal"
                assert not curves_inside(page, area), "a printed ring"
                signer = [m for m in page.search("负责人（签字）") if area["top"] <= m["top"] <= area["bottom"]]
                assert signer, f"page {index + 1}: no signature line beside the seal area"
                assert signer[0]["x1"] < area["x0"], "the signature line is left of the seal area"
                seal_note = [m for m in page.search("（盖章）") if area["bottom"] <= m["top"] <= area["bottom"] + 20]
                assert seal_note, "（盖章） and the date under the seal area"
                # The block's opinions are on this page, just above the seal area (never a signature alone).
                above = [c for c in page.chars if c["bottom"] <= area["top"] and area["top"] - c["bottom"] < 40 * MM
                         and not FOOTER.search(c["text"])]
                assert len(above) > 10, f"page {index + 1}: the signature part stands without its opinions"
        assert len(facts["seals"]) == blocks
        for index, page in enumerate(pages):
            rest = without(FOOTER.sub("", page_text(page)), SIGNATURE_WORDS)
            assert len(rest) > 40, f"page {index + 1} holds only a signature: {rest!r}"
    return facts


def test_text_chunks_keep_the_text_and_cut_after_sentences():
    assert documents.text_chunks("") == [""]
    assert documents.text_chunks("甲\n乙") == ["甲\n乙"]
    chunks = documents.text_chunks(WORK_PLAN)
    assert "".join(chunks) == WORK_PLAN and all(len(c) <= documents.CHUNK_CHARACTERS for c in chunks)
    assert all(c.endswith("。") for c in chunks[:-1])
    unbroken = "甲" * 400
    assert [len(c) for c in documents.text_chunks(unbroken)] == [170, 170, 60]
    paragraphs = "\n".join(["乙" * 100] * 3)
    assert documents.text_chunks(paragraphs) == ["乙" * 100] * 3


@pytest.mark.parametrize("province_copy", [False, True], ids=["ordinary", "province"])
def test_application_form_layout(frozen_world, django_capture_on_commit_callbacks, province_copy):
    application = long_application(frozen_world, django_capture_on_commit_callbacks)
    pdf = documents.application_form_pdf(application, province_copy=province_copy)
    keep_artifact(f"layout_application_form_{'province' if province_copy else 'ordinary'}.pdf", pdf)
    facts = check_application_form(pdf, blocks=3)
    assert len(facts["plan_pages"]) >= 2
    text = "".join(page_text(p) for p in pdfplumber.open(io.BytesIO(pdf)).pages)
    assert ("专家评审情况" in text and "88.0" in text and "91.5" in text and "技术路线清晰" in text
            and "平均分" in text) is province_copy


def test_a_province_opinion_longer_than_a_page_keeps_its_last_lines_with_the_signature(
        frozen_world, django_capture_on_commit_callbacks):
    decision = "经专家评审和省级科协党组会议研究，该单位基础扎实、方案可行，予以认定。" * 75  # 2,700 characters
    application = long_application(frozen_world, django_capture_on_commit_callbacks, decision=decision)
    pdf = documents.application_form_pdf(application)
    keep_artifact("layout_application_form_long_opinion.pdf", pdf)
    facts = check_application_form(pdf, blocks=3)
    province_page, _area = facts["seals"][-1]
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        starts = [i for i, p in enumerate(document.pages) if "省级科协审查认定意见" in page_text(p)]
        assert starts and starts[0] < province_page, "the province's block runs over a page break"
        # It starts right under the city's block instead of leaving the rest of that page empty.
        assert starts[0] == facts["seals"][1][0]
        assert "予以认定" in page_text(document.pages[province_page])


@pytest.mark.parametrize("units", [1, 6, 7, 8, 12, 16])
def test_the_letter_signature_never_stands_alone(world, units):
    applications = bulk_approved(world, units, name="推荐函测试单位")
    batch, city = applications[0].batch, world.org["chuzhou"]
    pdf = documents.recommendation_letter_pdf(batch, city)
    keep_artifact(f"layout_letter_{units}.pdf", pdf)
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        found = [(i, p, a) for i, p in enumerate(document.pages) for a in seal_areas(p)]
        assert len(found) == 1
        index, page, area = found[0]
        assert abs(area["width"] - SEAL_PT) <= 1 and abs(area["height"] - SEAL_PT) <= 1
        assert set(chars_inside(page, area)) <= set(city.name + "0123456789年月日")
        assert not curves_inside(page, area)
        assert "滁州市科学技术协会" in page_text(page) and "特此函告" in page_text(page)
        signature_only = ("滁州市科学技术协会", "特此函告。", "附件：", "联系人", "联系电话")
        for number, each in enumerate(document.pages):
            rest = without(re.sub(r"—\d+—", "", page_text(each)), signature_only)
            rest = re.sub(r"\d+年\d+月\d+日|（.*?）", "", rest)
            assert len(rest) > 20, f"page {number + 1} of the letter with {units} units holds only the signature"


def test_the_summary_table_signature_line_never_stands_alone(world):
    """The 推荐汇总表's 负责人（签字） line stays with the table's last rows, however many rows fill the pages."""
    city = world.org["chuzhou"]
    batch = bulk_approved(world, 16, name="汇总表测试单位")[0].batch
    lone = []
    for count in range(17, 24):  # 19 and 20 rows put the line at the top of page 2 when it may part
        bulk_approved(world, 1, name=f"汇总表测试单位{count}", batch=batch)
        pdf = documents.summary_pdf(batch, city)
        with pdfplumber.open(io.BytesIO(pdf)) as document:
            for number, page in enumerate(document.pages):
                rest = without(FOOTER.sub("", page_text(page)), ("负责人（签字）：", "经办人：", "联系电话："))
                if len(rest) < 20:
                    lone.append((count, number + 1, rest))
    assert not lone, lone
