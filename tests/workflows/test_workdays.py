"""Working-day calendar: package data for 2026, the provisional days of 2027 (the law's holidays on top of
weekends), administrator entries, the one-query cache, and load_calendar_year.

Expected 2026 dates are chinesecalendar 1.11.0's data: Spring Festival holidays 2/15–2/23 with 2/14 (Sat)
and 2/28 (Sat) worked; Mid-Autumn 9/25–9/27; National Day 10/1–10/7 with 9/20 (Sun) and 10/10 (Sat)
worked. The 2027 CSV below is a made-up sample, not the State Council's arrangement.
"""
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from workflows import workdays
from workflows.workdays import (
    CalendarDay,
    CalendarYear,
    add_workdays,
    calendar_status,
    clear_cache,
    due_date_info,
    is_workday,
    workdays_between,
)

D = date


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_cache()
    yield
    clear_cache()


# --- 2026 from the package -------------------------------------------------------------------------------


@pytest.mark.django_db
class TestSpringFestival2026:
    def test_days(self):
        assert is_workday(D(2026, 2, 13))  # Friday
        assert is_workday(D(2026, 2, 14))  # adjusted working Saturday
        assert not any(is_workday(D(2026, 2, d)) for d in range(15, 24))
        assert is_workday(D(2026, 2, 24))
        assert is_workday(D(2026, 2, 28))  # adjusted working Saturday
        assert not is_workday(D(2026, 3, 1))  # ordinary Sunday

    @pytest.mark.parametrize(
        ("n", "expected"),
        [(1, D(2026, 2, 14)), (2, D(2026, 2, 24)), (5, D(2026, 2, 27)), (6, D(2026, 2, 28)), (7, D(2026, 3, 2))],
    )
    def test_from_the_friday_before(self, n, expected):
        assert add_workdays(D(2026, 2, 13), n) == expected
        assert due_date_info(D(2026, 2, 13), n) == (expected, False)

    @pytest.mark.parametrize(("n", "expected"), [(1, D(2026, 2, 24)), (5, D(2026, 2, 28)), (6, D(2026, 3, 2))])
    def test_start_on_a_holiday(self, n, expected):
        assert add_workdays(D(2026, 2, 16), n) == expected

    def test_n_zero_is_the_start_itself(self, django_assert_num_queries):
        with django_assert_num_queries(0):
            assert add_workdays(D(2026, 2, 16), 0) == D(2026, 2, 16)
            assert due_date_info(D(2026, 2, 13), 0) == (D(2026, 2, 13), False)

    def test_negative_n_counts_backwards(self):
        assert add_workdays(D(2026, 2, 24), -1) == D(2026, 2, 14)
        assert add_workdays(D(2026, 2, 24), -2) == D(2026, 2, 13)

    def test_workdays_between(self):
        assert workdays_between(D(2026, 2, 13), D(2026, 2, 28)) == 6  # 2/14, 2/24–2/28
        # February 2026: 2–6, 9–13, 14, 24–27, 28
        assert workdays_between(D(2026, 1, 31), D(2026, 2, 28)) == 16
        assert workdays_between(D(2026, 2, 28), D(2026, 1, 31)) == -16
        assert workdays_between(D(2026, 2, 15), D(2026, 2, 23)) == 0
        assert workdays_between(D(2026, 2, 13), D(2026, 2, 13)) == 0

    def test_round_trip(self):
        start = D(2026, 2, 10)
        for n in range(0, 40):
            assert workdays_between(start, add_workdays(start, n)) == n


@pytest.mark.django_db
class TestNationalDay2026:
    def test_days(self):
        assert is_workday(D(2026, 9, 20))  # adjusted working Sunday
        assert not any(is_workday(D(2026, 9, d)) for d in (25, 26, 27))  # Mid-Autumn
        assert not any(is_workday(D(2026, 10, d)) for d in range(1, 8))
        assert is_workday(D(2026, 10, 8))
        assert is_workday(D(2026, 10, 10))  # adjusted working Saturday
        assert not is_workday(D(2026, 10, 11))

    @pytest.mark.parametrize(
        ("n", "expected"),
        [(1, D(2026, 9, 20)), (5, D(2026, 9, 24)), (6, D(2026, 9, 28)), (8, D(2026, 9, 30)),
         (9, D(2026, 10, 8)), (11, D(2026, 10, 10)), (12, D(2026, 10, 12))],
    )
    def test_from_the_friday_before(self, n, expected):
        assert add_workdays(D(2026, 9, 18), n) == expected

    def test_start_on_a_holiday(self):
        assert add_workdays(D(2026, 10, 3), 1) == D(2026, 10, 8)
        assert add_workdays(D(2026, 10, 3), 3) == D(2026, 10, 10)

    def test_public_notice_of_five_working_days(self):
        # A notice published on Monday 9/28 runs 9/29, 9/30, 10/8, 10/9, 10/10.
        assert due_date_info(D(2026, 9, 28), 5) == (D(2026, 10, 10), False)

    def test_workdays_between(self):
        assert workdays_between(D(2026, 9, 30), D(2026, 10, 12)) == 4  # 10/8, 10/9, 10/10, 10/12
        assert workdays_between(D(2026, 9, 18), D(2026, 10, 12)) == 12

    def test_datetime_is_taken_in_local_time(self):
        # 2026-09-30 17:00 UTC is 10/1 01:00 in Shanghai: a holiday.
        assert not is_workday(datetime(2026, 9, 30, 17, tzinfo=ZoneInfo("UTC")))
        assert add_workdays(datetime(2026, 9, 30, 17, tzinfo=ZoneInfo("UTC")), 1) == D(2026, 10, 8)


# --- 2027: provisional, then administrator entries -------------------------------------------------------


@pytest.mark.django_db
class TestProvisional2027:
    def test_status(self):
        assert calendar_status(2026) == "package"
        assert calendar_status(2027) == "provisional"

    def test_law_holidays_on_top_of_weekends_and_flagged(self):
        assert not is_workday(D(2027, 1, 1))  # 元旦, a Friday
        assert not is_workday(D(2027, 1, 2))
        assert is_workday(D(2027, 1, 4))
        assert due_date_info(D(2026, 12, 31), 1) == (D(2027, 1, 4), True)
        assert due_date_info(D(2026, 12, 25), 5) == (D(2027, 1, 4), True)
        # 春节 2/5–2/8 with 2/6 and 2/7 made up on 2/9 and 2/10.
        assert due_date_info(D(2027, 2, 5), 1) == (D(2027, 2, 11), True)

    def test_flag_only_when_a_provisional_day_is_counted(self):
        assert due_date_info(D(2026, 12, 28), 3) == (D(2026, 12, 31), False)
        assert due_date_info(D(2026, 11, 21), 5) == (D(2026, 11, 27), False)


@pytest.mark.django_db
class TestEntered2027:
    def test_entered_day_overrides_the_provisional_days(self):
        CalendarDay.objects.create(date=D(2027, 2, 11), is_workday=False, name="春节")
        clear_cache()
        assert not is_workday(D(2027, 2, 11))
        # The other days are still provisional, so still an estimate.
        assert due_date_info(D(2027, 2, 5), 1) == (D(2027, 2, 12), True)
        assert calendar_status(2027) == "provisional"
        assert CalendarYear.objects.get(year=2027).complete is False  # created with the day

    def test_complete_year_is_no_longer_flagged(self):
        CalendarDay.objects.create(date=D(2027, 2, 8), is_workday=False, name="春节")
        CalendarYear.objects.filter(year=2027).update(complete=True)
        clear_cache()
        assert calendar_status(2027) == "entered"
        assert due_date_info(D(2027, 2, 5), 1) == (D(2027, 2, 9), False)
        assert due_date_info(D(2026, 12, 25), 5) == (D(2027, 1, 1), False)

    def test_entered_day_overrides_the_package(self):
        CalendarDay.objects.create(date=D(2026, 10, 8), is_workday=False, name="测试更正")
        CalendarDay.objects.create(date=D(2026, 10, 11), is_workday=True, name="调休上班")
        clear_cache()
        assert not is_workday(D(2026, 10, 8))
        assert is_workday(D(2026, 10, 11))
        assert add_workdays(D(2026, 9, 30), 3) == D(2026, 10, 11)
        assert calendar_status(2026) == "package"

    def test_cache_holds_until_cleared(self):
        assert is_workday(D(2027, 2, 11))
        CalendarDay.objects.create(date=D(2027, 2, 11), is_workday=False, name="春节")
        assert is_workday(D(2027, 2, 11))  # cached
        clear_cache()
        assert not is_workday(D(2027, 2, 11))

    def test_cache_expires(self, monkeypatch, django_assert_num_queries):
        is_workday(D(2027, 2, 8))
        monkeypatch.setattr(workdays, "CACHE_SECONDS", 0)
        with django_assert_num_queries(1):
            is_workday(D(2027, 2, 8))


# --- one query ------------------------------------------------------------------------------------------


@pytest.mark.django_db
class TestQueries:
    @pytest.fixture
    def entries(self):
        CalendarDay.objects.create(date=D(2027, 1, 1), is_workday=False, name="元旦")
        CalendarDay.objects.create(date=D(2026, 12, 1), is_workday=False, name="测试")
        CalendarYear.objects.create(year=2028)

    @pytest.mark.parametrize("with_entries", [False, True])
    def test_one_query_for_any_span(self, request, with_entries, django_assert_num_queries):
        if with_entries:
            request.getfixturevalue("entries")
        clear_cache()
        with django_assert_num_queries(1):
            assert workdays_between(D(2026, 11, 21), D(2026, 12, 21)) == (20 if with_entries else 21)  # 30 days
        clear_cache()
        with django_assert_num_queries(1):
            due, estimate = due_date_info(D(2026, 11, 21), 140)  # about 200 days, into 2027
        assert estimate and due.year == 2027
        clear_cache()
        with django_assert_num_queries(1):
            assert workdays_between(D(2026, 6, 1), D(2026, 12, 18)) > 100  # 200 days
        with django_assert_num_queries(0):
            due_date_info(D(2026, 11, 21), 140)
            calendar_status(2027)
            is_workday(D(2027, 5, 5))


# --- admin ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
class TestAdmin:
    def test_adding_a_day_takes_effect_at_once(self, admin_client):
        assert is_workday(D(2027, 2, 11))  # cache filled
        response = admin_client.post(
            "/admin/workflows/calendarday/add/",
            {"date": "2027-02-11", "is_workday": "", "name": "春节", "note": ""},
        )
        assert response.status_code == 302, response.content.decode()
        assert not is_workday(D(2027, 2, 11))
        day = CalendarDay.objects.get(date=D(2027, 2, 11))
        assert day.year_id == 2027

        response = admin_client.post(f"/admin/workflows/calendarday/{day.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        assert is_workday(D(2027, 2, 11))

    def _year_form(self, year, complete, days):
        data = {
            "year": str(year),
            "complete": "on" if complete else "",
            "source": "测试",
            "days-TOTAL_FORMS": str(len(days)),
            "days-INITIAL_FORMS": "0",
            "days-MIN_NUM_FORMS": "0",
            "days-MAX_NUM_FORMS": "1000",
        }
        for i, (day, work, name) in enumerate(days):
            data.update({f"days-{i}-date": day, f"days-{i}-name": name, f"days-{i}-note": ""})
            if work:
                data[f"days-{i}-is_workday"] = "on"
        return data

    def test_year_with_inline_days(self, admin_client):
        assert due_date_info(D(2027, 2, 5), 1) == (D(2027, 2, 11), True)
        data = self._year_form(2027, True, [("2027-02-08", False, "春节"), ("2027-02-20", True, "调休上班")])
        response = admin_client.post("/admin/workflows/calendaryear/add/", data)
        assert response.status_code == 302, response.content.decode()
        assert due_date_info(D(2027, 2, 5), 1) == (D(2027, 2, 9), False)
        assert is_workday(D(2027, 2, 20))
        assert calendar_status(2027) == "entered"
        assert admin_client.get("/admin/workflows/calendaryear/").status_code == 200
        assert admin_client.get("/admin/workflows/calendaryear/2027/change/").status_code == 200
        assert admin_client.get("/admin/workflows/calendarday/?q=春节").status_code == 200

    def test_inline_day_must_be_in_the_year(self, admin_client):
        data = self._year_form(2027, True, [("2028-01-03", False, "元旦")])
        response = admin_client.post("/admin/workflows/calendaryear/add/", data)
        assert response.status_code == 200
        assert "不属于 2027 年" in response.content.decode()
        assert not CalendarYear.objects.exists()


# --- load_calendar_year ---------------------------------------------------------------------------------

SAMPLE_2027 = """\ufeffdate,is_workday,name,note
# 测试样例，不是国务院办公厅的正式安排
2027-01-01,0,元旦,
2027-02-06,0,春节,
2027-02-07,0,春节,
2027-02-08,0,春节,
2027-02-09,0,春节,
2027-02-10,0,春节,
2027-02-11,0,春节,
2027-02-12,0,春节,
2027-02-20,1,调休上班,春节调休

"""


def write(tmp_path, text, name="2027.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return str(path)


@pytest.mark.django_db
class TestLoadCalendarYear:
    def test_success(self, tmp_path, capsys):
        assert due_date_info(D(2027, 2, 5), 1) == (D(2027, 2, 11), True)  # cache filled
        call_command("load_calendar_year", "2027", "--file", write(tmp_path, SAMPLE_2027), "--source", "样例")
        out = capsys.readouterr().out
        assert "放假 8 天" in out and "调休上班 1 天" in out
        year = CalendarYear.objects.get(year=2027)
        assert year.complete and year.source == "样例"
        assert CalendarDay.objects.filter(year=year).count() == 9
        assert calendar_status(2027) == "entered"
        assert due_date_info(D(2027, 2, 5), 1) == (D(2027, 2, 15), False)
        assert add_workdays(D(2027, 2, 5), 6) == D(2027, 2, 20)
        assert due_date_info(D(2026, 12, 31), 1) == (D(2027, 1, 4), False)

    def test_reload_replaces_the_year(self, tmp_path, capsys):
        CalendarDay.objects.create(date=D(2027, 3, 1), is_workday=False, name="错误录入")
        CalendarDay.objects.create(date=D(2026, 12, 1), is_workday=False, name="他年")
        call_command("load_calendar_year", "2027", "--file", write(tmp_path, SAMPLE_2027))
        assert "替换原有 1 条" in capsys.readouterr().out
        assert not CalendarDay.objects.filter(date=D(2027, 3, 1)).exists()
        assert CalendarDay.objects.filter(date=D(2026, 12, 1)).exists()
        assert CalendarDay.objects.filter(year_id=2027).count() == 9

    def test_gbk_file_from_excel(self, tmp_path):
        text = "2027-01-01,0,元旦\r\n2027-02-20,1,调休上班\r\n"
        call_command("load_calendar_year", "2027", "--file", write(tmp_path, text, encoding="gbk"))
        assert CalendarDay.objects.get(date=D(2027, 1, 1)).name == "元旦"

    def test_malformed_file_changes_nothing(self, tmp_path):
        CalendarDay.objects.create(date=D(2027, 2, 8), is_workday=False, name="春节")
        before = list(CalendarDay.objects.values_list("date", "is_workday", "name"))
        bad = (
            "date,is_workday,name\n"
            "2027-01-01,0,元旦\n"  # fine
            "2027/02/06,0,春节\n"  # 3: date format
            "2027-02-30,0,春节\n"  # 4: no such date
            "2028-01-01,0,元旦\n"  # 5: wrong year
            "2027-01-01,0,元旦\n"  # 6: duplicate
            "2027-02-09,是的,春节\n"  # 7: flag
            "2027-02-10,0,\n"  # 8: empty name
            "2027-02-11,0\n"  # 9: columns
            "2027-02-15,1,调休上班\n"  # 10: a Monday is already a working day
        )
        with pytest.raises(CommandError) as info:
            call_command("load_calendar_year", "2027", "--file", write(tmp_path, bad))
        message = str(info.value)
        assert "未做任何更改" in message
        for fragment in (
            "第 3 行：日期“2027/02/06”格式不对",
            "第 4 行：日期“2027-02-30”不存在",
            "第 5 行：日期 2028-01-01 不属于 2027 年",
            "第 6 行：日期 2027-01-01 重复（第 2 行已有）",
            "第 7 行：“是否上班”应填 1（调休上班）或 0（放假）",
            "第 8 行：名称不能为空",
            "第 9 行：应为 3 或 4 列",
            "第 10 行：2027-02-15 是星期一，本来就上班",
        ):
            assert fragment in message
        assert "第 2 行" not in message.replace("（第 2 行已有）", "")
        assert list(CalendarDay.objects.values_list("date", "is_workday", "name")) == before
        assert CalendarYear.objects.get(year=2027).complete is False
        assert calendar_status(2027) == "provisional"

    @pytest.mark.parametrize(
        ("content", "fragment"),
        [("", "没有任何日期"), ("date,is_workday,name\n", "没有任何日期"), ("2027-01-01,0,\"元旦\n", "CSV 格式错误")],
    )
    def test_empty_or_broken(self, tmp_path, content, fragment):
        with pytest.raises(CommandError, match=fragment):
            call_command("load_calendar_year", "2027", "--file", write(tmp_path, content))
        assert not CalendarYear.objects.exists()

    def test_missing_file_and_bad_year(self, tmp_path):
        with pytest.raises(CommandError, match="无法读取文件"):
            call_command("load_calendar_year", "2027", "--file", str(tmp_path / "none.csv"))
        with pytest.raises(CommandError, match="不在 2000–2100 之间"):
            call_command("load_calendar_year", "1999", "--file", write(tmp_path, SAMPLE_2027))
        assert not CalendarYear.objects.exists()
