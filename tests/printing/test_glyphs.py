"""Every character prints or is refused where it is typed: the print faces' character maps (Noto Serif
CJK SC and HanaMinB for CJK Extensions B-F), the refusal naming the character in forms, subject names and
opinions with nothing changed, and the render refusing a PDF that would show a box."""
import subprocess
import tempfile

import pytest

from approvals import errors as E
from approvals import services as svc
from approvals.models import Application, AuditEvent, Opinion, Program, Status
from printing import glyphs
from printing.render import MissingGlyphs, html_to_pdf, render_html
from tests.approvals.chain import act, create
from tests.approvals.conftest import station_form

from .helpers import pdf_text

EXT_B_FIRST = "\U00020000"  # 𠀀, in HanaMinB only
EXT_B_IN_NOTO = "\U00020BB7"  # 𠮷
EXT_B_LAST = "\U0002A6D6"  # the last Extension B character of Unicode 5.0 (HanaMinB has all of them)
EXT_H = "\U000323AF"  # Extension H (Unicode 15): no print face has it
EMOJI = "\U0001F600"


def pdffonts(pdf: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        return subprocess.run(["pdffonts", handle.name], check=True, capture_output=True, text=True).stdout


def test_the_faces_cover_the_extension_blocks_and_nothing_is_guessed():
    for char in ("张", "堃", "㐀", EXT_B_FIRST, EXT_B_IN_NOTO, EXT_B_LAST, "\U0002B740", "\U0002CEB0", "〔", "①",
                 "é", "\n", "\t", "\u200d", "\ufe00"):
        assert glyphs.is_printable(char), f"U+{ord(char):04X}"
    for char in (EXT_H, EMOJI, "\x07", "\x00", "\U0002FFFF", "\ud800"):
        assert not glyphs.is_printable(char), f"U+{ord(char):04X}"
    assert glyphs.unprintable_characters(f"张三{EMOJI}李{EXT_H}{EMOJI}\x07") == [EMOJI, EXT_H, "\x07"]
    assert glyphs.describe(EXT_H) == "“\U000323AF”（U+323AF）"
    assert glyphs.describe("\x07") == "U+0007"


def test_an_extension_b_name_is_accepted_and_prints_with_hanazono(world):
    application = create(world, "society-service-station")
    name = f"滁州{EXT_B_FIRST}{EXT_B_IN_NOTO}智能装备有限公司"
    svc.application_edit(actor=act(world, "langya_clerk"), application_id=application.pk, subject_name=name)
    assert Application.objects.get(pk=application.pk).subject_name == name
    html = render_html("printing/certificate.html", {"number": "皖科协证〔2026〕第0001号", "awardee_name": name,
                                                     "program_name": "学会服务站", "issuing_org": "安徽省科学技术协会"})
    pdf = html_to_pdf(html)
    assert name in pdf_text(pdf)
    fonts = pdffonts(pdf)
    assert "HanaMinB" in fonts  # 𠀀
    assert "Kexie-Print-Serif-Rare" in fonts  # 𠮷 from the reduced Noto face, not the whole one
    assert "Noto-Serif-CJK" not in fonts


def test_subject_name_with_an_unprintable_character_is_refused_and_nothing_is_created(world):
    program = Program.objects.get(code="society-service-station")
    before = (Application.objects.count(), AuditEvent.objects.count())
    with pytest.raises(E.InvalidInput) as refused:
        svc.application_create(actor=act(world, "langya_clerk"), batch=world.batch("society-service-station"),
                               applicant=world.org["langya"], subject_name=f"滁州{EMOJI}科技有限公司",
                               uscc="91341100MA2N0XKX1G", division_code="341102", form_data=station_form())
    assert refused.value.errors == {
        "subject_name": "含有无法打印的字符 “\U0001F600”（U+1F600）（打印字体中没有这个字），请改用其他写法"
    }
    assert (Application.objects.count(), AuditEvent.objects.count()) == before
    assert program.pk  # the program exists; only the name was refused


def test_form_text_and_list_rows_are_checked(world):
    application = create(world, "society-service-station")
    form = station_form()
    form["work_plan"] = f"计划{EXT_H}实施"
    with pytest.raises(E.InvalidInput) as refused:
        svc.application_edit(actor=act(world, "langya_clerk"), application_id=application.pk, form_data=form)
    assert refused.value.errors["work_plan"].startswith("工作计划与目标：含有无法打印的字符 “\U000323AF”（U+323AF）")
    form = station_form()
    form["radiated_units"][2]["name"] = "滁州\x07公司"
    with pytest.raises(E.InvalidInput) as refused:
        svc.application_edit(actor=act(world, "langya_clerk"), application_id=application.pk, form_data=form)
    assert "第 3 行" in refused.value.errors["radiated_units"]
    assert "U+0007" in refused.value.errors["radiated_units"]
    assert Application.objects.get(pk=application.pk).form_data == application.form_data


def test_an_opinion_with_an_unprintable_character_is_refused_before_anything_moves(world):
    application = create(world, "society-service-station")
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=application.pk)
    events = AuditEvent.objects.filter(application=application).count()
    with pytest.raises(E.InvalidInput) as refused:
        svc.application_sign_off(actor=act(world, "langya_leader"), application_id=application.pk,
                                 comment=f"同意{EMOJI}")
    assert "U+1F600" in refused.value.message
    application.refresh_from_db()
    assert application.status == Status.APPLICANT_SIGNOFF
    assert AuditEvent.objects.filter(application=application).count() == events
    assert not Opinion.objects.filter(application=application).exists()
    svc.application_sign_off(actor=act(world, "langya_leader"), application_id=application.pk, comment="同意𠀀")
    assert Application.objects.get(pk=application.pk).status == Status.CITY_REVIEW


def test_the_render_refuses_a_pdf_with_a_box():
    html = render_html("printing/certificate.html", {"number": "X", "awardee_name": f"滁州{EXT_H}公司",
                                                     "program_name": "学会服务站", "issuing_org": "安徽省科学技术协会"})
    with pytest.raises(MissingGlyphs) as refused:
        html_to_pdf(html)
    assert refused.value.characters == [EXT_H]


def test_lists_are_limited_to_50_rows_and_a_form_to_40000_characters(world):
    from approvals.formspec import MAX_FORM_CHARACTERS, MAX_LIST_ROWS

    assert (MAX_LIST_ROWS, MAX_FORM_CHARACTERS) == (50, 40_000)
    application = create(world, "society-service-station")
    form = station_form(units=50)
    svc.application_edit(actor=act(world, "langya_clerk"), application_id=application.pk, form_data=form)
    assert len(Application.objects.get(pk=application.pk).form_data["radiated_units"]) == 50
    form = station_form(units=51)
    with pytest.raises(E.InvalidInput) as refused:
        svc.application_edit(actor=act(world, "langya_clerk"), application_id=application.pk, form_data=form)
    assert refused.value.errors["radiated_units"] == "辐射带动单位：最多 50 行，现有 51 行"
    assert len(Application.objects.get(pk=application.pk).form_data["radiated_units"]) == 50
    form = station_form()
    used = sum(len(v) for v in svc.validate_form_data(application.program.form_fields, form)[0].values()
               if isinstance(v, str))
    form["work_basis"], form["work_plan"] = "甲" * 5000, "乙" * 5000
    form["technical_needs"] = [{"title": "丙" * 200, "description": "戊" * 200}] * 50
    form["radiated_units"] = [{"name": "丁" * 200}] * 50
    with pytest.raises(E.InvalidInput) as refused:
        svc.application_edit(actor=act(world, "langya_clerk"), application_id=application.pk, form_data=form)
    assert refused.value.errors["__all__"].startswith("申报内容合计不能超过 40000 字")
    assert used < MAX_FORM_CHARACTERS
