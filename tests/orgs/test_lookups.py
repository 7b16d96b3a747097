"""orgs.lookups: `under`, the prefix condition on tree paths that every database answers from an index."""
import pytest
from django.db import connection

from approvals.models import Application
from orgs.models import Level, Organization

NAMES = ["/1/", "/1/2/", "/1/2/3/", "/1/20/", "/1/2", "/10/", "/1/3/", "组织", "组织一", "组织一部", "组", "ab", "abc",
         "abd", "ab\U0010ffff", "AB", "a%b", "a_b", "a\\b"]


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", ["/1/", "/1/2/", "/1/2", "/10/", "/2/", "组织", "组织一", "ab", "a%", "a_", "a\\"])
def test_under_is_startswith_case_sensitive(prefix):
    for name in NAMES:
        Organization.objects.create(name=name, level=Level.COUNTY)
    found = sorted(Organization.objects.filter(name__under=prefix).values_list("name", flat=True))
    assert found == sorted(n for n in NAMES if n.startswith(prefix))


@pytest.mark.django_db
def test_a_scope_of_paths_seeks_the_index():
    """The applications under a path are found by a search of an index, not by reading the table
    (SQLite's LIKE never uses one; the range does)."""
    queryset = Application.objects.filter(applicant_path__under="/1/7/").values("status")
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            assert "USING COVERING INDEX app_scope_cover_idx" in plan, plan
        else:  # PostgreSQL: LIKE 'p%' through the prefix opclass (the table is empty: no sequential scans)
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = " ".join(str(row[0]) for row in cursor.fetchall())
            assert "Index" in plan and "~>=~" in plan, plan
