"""Each program's own wording: the division type resolved in the certificate title (区, 县, 市), the awardee
addressed as 你单位 or as 你区/你市, and a city designated itself neither recommended nor 你单位."""
import pytest

from approvals.models import Program
from printing import services, wording
from printing.models import Certificate

from .helpers import certified_application, pdf_text


@pytest.mark.parametrize(("name", "kind"), [
    ("琅琊区", "区"), ("来安县", "县"), ("天长市", "市"), ("金寨县", "县"), ("神农架林区", "区"),
    ("峨边彝族自治县", "县"), ("鄂温克族自治旗", "旗"), ("达尔罕茂明安联合旗", "旗"), ("滁州市", "市"),
    ("延边朝鲜族自治州", "州"), ("阿里地区", "地区"), ("锡林郭勒盟", "盟"),
])
def test_division_type(name, kind):
    assert wording.division_type(name) == kind


def test_titles_and_addressees(world):
    county = Program.objects.get(code="innovation-driven-county")
    assert wording.certificate_title(county, "琅琊区") == "创新驱动示范区"
    assert wording.certificate_title(county, "来安县") == "创新驱动示范县"
    assert wording.certificate_title(county, "天长市") == "创新驱动示范市"
    assert wording.awardee_name(county, "琅琊区", "琅琊区") == "琅琊区创新驱动示范区"
    assert wording.addressee(county, "天长市") == "你市"
    station = Program.objects.get(code="society-service-station")
    assert wording.awardee_name(station, "滁州某某学会服务站", "琅琊区") == "滁州某某学会服务站"
    assert wording.addressee(station, "琅琊区") == "你单位"
    city = Program.objects.get(code="innovation-driven-city")
    assert not wording.city_recommends(city) and wording.city_recommends(county)
    assert wording.letter_wording(city, "B").letter_title == "关于申报B的函"
    assert wording.letter_wording(county, "B").table_title == "B推荐汇总表"


def certificate_text(world, capture, program):
    application = certified_application(world, capture, program=program)
    certificate = Certificate.objects.get(application=application)
    return certificate, pdf_text(services.certificate_pdf_path(certificate).read_bytes())


def test_county_certificate_resolves_the_placeholder(world, django_capture_on_commit_callbacks):
    certificate, text = certificate_text(world, django_capture_on_commit_callbacks, "innovation-driven-county")
    assert certificate.awardee_name == "琅琊区创新驱动示范区"
    assert "琅琊区创新驱动示范区：经滁州市科学技术协会推荐、安徽省科学技术协会审核，你区被认定为创新驱动示范区" in text
    assert "（市）县" not in text and "你单位" not in text


def test_city_certificate_is_neither_recommended_nor_addressed_as_a_unit(world, django_capture_on_commit_callbacks):
    certificate, text = certificate_text(world, django_capture_on_commit_callbacks, "innovation-driven-city")
    assert certificate.awardee_name == "滁州市创新驱动示范市"
    assert "滁州市创新驱动示范市：经安徽省科学技术协会审核，你市被认定为创新驱动示范市" in text
    assert "推荐" not in text and "你单位" not in text


def test_station_certificate_keeps_its_wording(world, django_capture_on_commit_callbacks):
    certificate, text = certificate_text(world, django_capture_on_commit_callbacks, "society-service-station")
    assert "经滁州市科学技术协会推荐、安徽省科学技术协会审核，你单位被认定为学会服务站" in text
