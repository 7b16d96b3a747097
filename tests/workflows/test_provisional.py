"""Statutory holidays computed from the law for a year with no arrangement, the State Council notice read
from its text (the real 2025 and 2026 notices checked against chinesecalendar), and its admin import.

Expected provisional days: 全国年节及纪念日放假办法 as amended in 2024, with the lunar dates of 2027 (春节
2/6, so 除夕 2/5; 端午 6/9; 中秋 9/15; 清明 4/5) and 2028 (春节 1/26, 除夕 1/25; 清明 4/4; 端午 5/28;
中秋 10/3, on 国庆), and a weekend (or doubly-granted) statutory day made up on the next free weekday.
"""
import datetime as dt
from pathlib import Path

import chinese_calendar
import pytest
from chinese_calendar import Holiday
from django.contrib.auth import get_user_model

from workflows.calendar_notice import calendar_notice_import, notice_diff, notice_parse
from workflows.holidays import provisional_days, statutory_days
from workflows.workdays import (
    CalendarDay,
    CalendarImportError,
    CalendarYear,
    calendar_status,
    clear_cache,
    due_date_info,
    is_workday,
    span_is_estimate,
)

D = dt.date
NOTICES = Path(__file__).resolve().parent.parent / "fixtures" / "notices"


def notice_text(year: int) -> str:
    return (NOTICES / f"{year}.txt").read_text(encoding="utf-8")


def off_days(year):
    return [(d.date, d.label) for d in provisional_days(year)]


# --- the statutory rule -------------------------------------------------------------------------------


def test_the_laws_festivals_of_2027_and_2028():
    assert statutory_days(2027) == [
        ("元旦", [D(2027, 1, 1)]),
        ("春节", [D(2027, 2, 5), D(2027, 2, 6), D(2027, 2, 7), D(2027, 2, 8)]),
        ("清明节", [D(2027, 4, 5)]),
        ("劳动节", [D(2027, 5, 1), D(2027, 5, 2)]),
        ("端午节", [D(2027, 6, 9)]),
        ("中秋节", [D(2027, 9, 15)]),
        ("国庆节", [D(2027, 10, 1), D(2027, 10, 2), D(2027, 10, 3)]),
    ]
    assert sum(len(days) for _name, days in statutory_days(2028)) == 13


def test_provisional_days_of_2027_make_up_the_weekend_days():
    assert off_days(2027) == [
        (D(2027, 1, 1), "元旦"),  # Friday
        (D(2027, 2, 5), "春节"), (D(2027, 2, 6), "春节"), (D(2027, 2, 7), "春节"), (D(2027, 2, 8), "春节"),
        # 2/6 and 2/7 are a Saturday and a Sunday: made up on Tuesday and Wednesday.
        (D(2027, 2, 9), "春节（补休）"), (D(2027, 2, 10), "春节（补休）"),
        (D(2027, 4, 5), "清明节"),
        (D(2027, 5, 1), "劳动节"), (D(2027, 5, 2), "劳动节"),
        (D(2027, 5, 3), "劳动节（补休）"), (D(2027, 5, 4), "劳动节（补休）"),
        (D(2027, 6, 9), "端午节"),
        (D(2027, 9, 15), "中秋节"),
        (D(2027, 10, 1), "国庆节"), (D(2027, 10, 2), "国庆节"), (D(2027, 10, 3), "国庆节"),
        (D(2027, 10, 4), "国庆节（补休）"), (D(2027, 10, 5), "国庆节（补休）"),
    ]


def test_provisional_days_of_2028_make_up_a_weekend_and_a_shared_day():
    assert off_days(2028) == [
        (D(2028, 1, 1), "元旦"), (D(2028, 1, 3), "元旦（补休）"),  # a Saturday: made up on Monday
        (D(2028, 1, 25), "春节"), (D(2028, 1, 26), "春节"), (D(2028, 1, 27), "春节"), (D(2028, 1, 28), "春节"),
        (D(2028, 4, 4), "清明节"),
        (D(2028, 5, 1), "劳动节"), (D(2028, 5, 2), "劳动节"),
        (D(2028, 5, 28), "端午节"), (D(2028, 5, 29), "端午节（补休）"),  # a Sunday
        # 10/1 is a Sunday, and 中秋 falls on 10/3, a day 国庆 already grants: two days made up.
        (D(2028, 10, 1), "国庆节"), (D(2028, 10, 2), "国庆节"), (D(2028, 10, 3), "国庆节"),
        (D(2028, 10, 4), "国庆节（补休）"), (D(2028, 10, 5), "中秋节（补休）"),
    ]


@pytest.mark.django_db
def test_provisional_days_are_days_off_and_counted_as_estimates():
    clear_cache()
    assert calendar_status(2027) == calendar_status(2028) == "provisional"
    assert [is_workday(D(2027, 2, d)) for d in range(4, 12)] == [True, False, False, False, False, False, False, True]
    assert is_workday(D(2028, 1, 3)) is False and is_workday(D(2028, 1, 4)) is True
    # Thursday 2027-09-30 + 1 working day: 10/1–10/7 are off (10/4, 10/5 made up; 10/6, 10/7 are weekdays).
    assert due_date_info(D(2027, 9, 30), 1) == (D(2027, 10, 6), True)
    # The flag follows the span: the last day of 2026 is exact, the day after is not.
    assert span_is_estimate(D(2026, 12, 24), D(2026, 12, 31)) is False
    assert span_is_estimate(D(2026, 12, 24), D(2027, 1, 1)) is True
    assert span_is_estimate(D(2027, 12, 31), D(2028, 1, 4)) is True
    assert span_is_estimate(D(2026, 1, 1), D(2026, 12, 31)) is False


# --- the State Council's notices --------------------------------------------------------------------------

CC_NAMES = {
    "元旦": Holiday.new_years_day, "春节": Holiday.spring_festival, "清明节": Holiday.tomb_sweeping_day,
    "劳动节": Holiday.labour_day, "端午节": Holiday.dragon_boat_festival, "中秋节": Holiday.mid_autumn_festival,
    "国庆节": Holiday.national_day,
}


@pytest.mark.parametrize(("year", "holidays", "workdays"), [(2025, 28, 5), (2026, 33, 6)])
def test_the_real_notice_gives_chinesecalendars_days_exactly(year, holidays, workdays):
    notice = notice_parse(notice_text(year))

    assert (notice.year, notice.holidays, notice.workdays) == (year, holidays, workdays)
    parsed_off = {d.date: CC_NAMES[d.name].value for d in notice.days if not d.is_workday}
    parsed_work = {d.date: CC_NAMES[d.note.removesuffix("调休")].value for d in notice.days if d.is_workday}
    assert parsed_off == {d: name for d, name in chinese_calendar.holidays.items() if d.year == year}
    assert parsed_work == {d: name for d, name in chinese_calendar.workdays.items() if d.year == year}
    # And so every day of the year has the package's status.
    listed = {d.date: d.is_workday for d in notice.days}
    day = D(year, 1, 1)
    while day.year == year:
        assert listed.get(day, day.weekday() < 5) == chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)


def test_the_notices_source_is_its_title_and_number():
    assert notice_parse(notice_text(2025)).source == "国务院办公厅关于2025年部分节假日安排的通知 国办发明电〔2024〕12号"
    assert notice_parse(notice_text(2026)).source == "国务院办公厅关于2026年部分节假日安排的通知"


def test_pasted_text_may_come_on_one_line_with_half_width_brackets():
    text = notice_text(2026).replace("\n", "").replace("（", "(").replace("）", ")").replace("：", ":")
    assert notice_parse(text).days == notice_parse(notice_text(2026)).days


@pytest.mark.django_db
def test_the_diff_lists_what_the_notice_changes_against_the_law():
    clear_cache()
    notice = notice_parse(notice_text(2026))
    rows = [(r.date, r.provisional, r.current, r.notice) for r in notice_diff(notice)]
    # The law alone gives 2026: 元旦 1/1; 春节 2/16–2/19; 清明 4/5 (a Sunday, made up 4/6); 劳动节 5/1, 5/2
    # (Saturday, made up 5/4); 端午 6/19; 中秋 9/25; 国庆 10/1–10/3 (10/3 Saturday, made up 10/5).
    assert rows == [
        (D(2026, 1, 2), "上班", "放假", "放假（元旦）"),
        (D(2026, 1, 4), "放假", "上班", "上班（元旦调休）"),
        (D(2026, 2, 14), "放假", "上班", "上班（春节调休）"),
        (D(2026, 2, 20), "上班", "放假", "放假（春节）"),
        (D(2026, 2, 23), "上班", "放假", "放假（春节）"),
        (D(2026, 2, 28), "放假", "上班", "上班（春节调休）"),
        (D(2026, 5, 5), "上班", "放假", "放假（劳动节）"),
        (D(2026, 5, 9), "放假", "上班", "上班（劳动节调休）"),
        (D(2026, 9, 20), "放假", "上班", "上班（国庆节调休）"),
        (D(2026, 10, 6), "上班", "放假", "放假（国庆节）"),
        (D(2026, 10, 7), "上班", "放假", "放假（国庆节）"),
        (D(2026, 10, 10), "放假", "上班", "上班（国庆节调休）"),
    ]


ITEM_2026 = "一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。"
MALFORMED = {
    "wrong weekday": (
        ("1月1日（周四）至3日（周六）", "1月1日（周五）至3日（周六）"),
        "无法读取“一、元旦：1月1日（周五）至3日（周六）放假调休，共3天。”：1月1日是星期四，通知写的是“周五”",
    ),
    "count": (
        ("放假调休，共3天。1月4日", "放假调休，共4天。1月4日"),
        "无法读取“一、元旦：1月1日（周四）至3日（周六）放假调休，共4天。”：写明共 4 天，但 1月1日至1月3日是 3 天",
    ),
    "worked weekday": (
        ("1月4日（周日）上班", "1月5日（周一）上班"),
        "无法读取“1月5日（周一）上班。”：1月5日是星期一，本来就上班；调休上班日应为星期六或星期日",
    ),
    "unreadable day": (
        ("1月4日（周日）上班", "1月4号（周日）上班"),
        "无法读取“1月4号（周日）上班。”：无法识别日期“1月4号（周日）”",
    ),
    "words for digits": (
        ("三、清明节：4月4日（周六）至6日（周一）放假，共3天。", "三、清明节：4月4日（周六）至6日（周一）放假，共三天。"),
        "无法读取“三、清明节：4月4日（周六）至6日（周一）放假，共三天。”："
        "应写作“某月某日（周几）至某日（周几）放假（调休），共几天。”",
    ),
    "not a festival": (
        ("六、中秋节：", "六、中秋："),
        "无法读取“六、中秋：9月25日（周五）至27日（周日）放假，共3天。”：“中秋”不是法定节日"
        "（应为 元旦、春节、清明节、劳动节、端午节、中秋节、国庆节）",
    ),
    "statutory day left out": (
        ("2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天",
         "2月17日（农历正月初一、周二）至23日（农历正月初七、周一）放假调休，共7天"),
        "无法读取“二、春节：2月17日（农历正月初一、周二）至23日（农历正月初七、周一）放假调休，共7天。”："
        "放假日期未包含法定假日 2月16日（全国年节及纪念日放假办法）",
    ),
    "missing festival": (
        ("五、端午节：6月19日（周五）至21日（周日）放假，共3天。", ""),
        "通知中缺少：端午节（七个法定节日都应有安排）",
    ),
    "no year": (
        ("2026年", "今年"), "找不到通知的年份（应有“关于××××年部分节假日安排的通知”或“现将××××年”）",
    ),
}


def _snapshot():
    return (list(CalendarYear.objects.values_list("year", "complete", "source")),
            list(CalendarDay.objects.values_list("date", "is_workday", "name", "note")))


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_notice_is_refused_naming_the_sentence_and_changes_nothing(case):
    (old, new), message = MALFORMED[case]
    assert old in notice_text(2026)
    CalendarDay.objects.create(date=D(2026, 12, 31), is_workday=False, name="测试")
    before = _snapshot()

    with pytest.raises(CalendarImportError) as info:
        calendar_notice_import(text=notice_text(2026).replace(old, new))

    assert info.value.errors == [message]
    assert _snapshot() == before


def test_every_unreadable_sentence_is_named():
    text = notice_text(2026).replace("（周四）至3日", "（周五）至3日").replace("5月9日（周六）", "5月9日（周日）")
    with pytest.raises(CalendarImportError) as info:
        notice_parse(text)
    assert info.value.errors == [
        "无法读取“一、元旦：1月1日（周五）至3日（周六）放假调休，共3天。”：1月1日是星期四，通知写的是“周五”",
        "无法读取“5月9日（周日）上班。”：5月9日是星期六，通知写的是“周日”",
    ]
    assert ITEM_2026 in notice_text(2026)


# --- the admin page ---------------------------------------------------------------------------------------

IMPORT_URL = "/admin/workflows/calendaryear/import-notice/"


@pytest.mark.django_db
def test_the_admin_page_previews_then_confirms(admin_client, clock, django_capture_on_commit_callbacks):
    clear_cache()
    clock.set(D(2026, 12, 1))
    page = admin_client.get(IMPORT_URL).content.decode()
    assert "2027 年暂定放假日" in page
    assert "2027-02-09 春节（补休）；" in page
    assert IMPORT_URL in admin_client.get("/admin/workflows/calendaryear/").content.decode()

    preview = admin_client.post(IMPORT_URL, {"text": notice_text(2026), "preview": "1"})
    page = preview.content.decode()
    assert preview.status_code == 200
    assert "2026 年：放假 33 天，调休上班 6 天" in page
    assert "<td>2026-09-20</td><td>星期日</td><td>放假</td><td>上班</td><td><strong>上班（国庆节调休）</strong></td>" in page
    assert not CalendarYear.objects.exists()  # a preview writes nothing

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = admin_client.post(IMPORT_URL, {"text": notice_text(2026), "confirm": "1"})
    assert (confirmed.status_code, confirmed["Location"]) == (302, "/admin/workflows/calendaryear/")
    year = CalendarYear.objects.get(year=2026)
    assert (year.complete, year.source) == (True, "国务院办公厅关于2026年部分节假日安排的通知")
    assert CalendarDay.objects.filter(year=year, is_workday=False).count() == 33
    assert list(CalendarDay.objects.filter(is_workday=True).values_list("date", "name", "note")) == [
        (D(2026, 1, 4), "调休上班", "元旦调休"), (D(2026, 2, 14), "调休上班", "春节调休"),
        (D(2026, 2, 28), "调休上班", "春节调休"), (D(2026, 5, 9), "调休上班", "劳动节调休"),
        (D(2026, 9, 20), "调休上班", "国庆节调休"), (D(2026, 10, 10), "调休上班", "国庆节调休"),
    ]


@pytest.mark.django_db
def test_the_admin_page_refuses_a_malformed_notice_and_changes_nothing(admin_client):
    text = notice_text(2026).replace("1月4日（周日）上班", "1月5日（周一）上班")
    for button in ("preview", "confirm"):
        response = admin_client.post(IMPORT_URL, {"text": text, button: "1"})
        page = response.content.decode()
        assert response.status_code == 200
        assert "无法读取“1月5日（周一）上班。”：1月5日是星期一，本来就上班" in page
        assert "通知未导入，未做任何更改" in page
    assert _snapshot() == ([], [])


@pytest.mark.django_db
def test_the_admin_page_is_for_superusers_only(client):
    staff = get_user_model().objects.create_user("calendar_staff", password="x-1234-abcd", is_staff=True)
    client.force_login(staff)
    # Staff without an administrator's seat is not let into the admin site at all (sent to its login).
    assert client.get(IMPORT_URL).status_code == 302
    assert client.post(IMPORT_URL, {"text": notice_text(2026), "confirm": "1"}).status_code == 302
    assert _snapshot() == ([], [])
