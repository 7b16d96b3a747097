"""Reads of designations. The public registry shows designations in force with their public fields only
(REGISTRY_FIELDS): never contacts, form contents, opinions or anything of the application's review."""
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from approvals.models import Program
from approvals.params import query_id
from orgs.models import Level, Organization, OrgKind

from .models import IN_FORCE, Designation

# What the registry reads and shows; the template has nothing else.
REGISTRY_FIELDS = (
    "pk", "awardee_name", "host_name", "sponsor_society", "valid_from", "valid_until", "status",
    "program__name_zh", "program__name_en", "province__name", "city__name", "applicant__name",
    "applicant__level", "certificate__number", "certificate__token",
)
REGISTRY_PAGE_SIZE = 50
QUERY_MAX_LENGTH = 64


@dataclass(frozen=True)
class RegistryFilter:
    q: str = ""
    program: Program | None = None
    province: Organization | None = None
    city: Organization | None = None
    county: Organization | None = None

    @property
    def area(self) -> Organization | None:
        return self.county or self.city or self.province


def registry_filter(params) -> RegistryFilter:
    """The registry's search from the query string. Unknown or inconsistent values (a city outside the
    chosen province, say) are dropped, never an error: the page shows what the rest selects."""
    q = (params.get("q") or "").strip()[:QUERY_MAX_LENGTH]
    ids = {key: query_id(params.get(key)) for key in ("program", "province", "city", "county")}
    program = Program.objects.filter(pk=ids["program"]).first() if ids["program"] else None
    wanted = [ids[key] for key in ("province", "city", "county") if ids[key]]
    orgs = {org.pk: org for org in Organization.objects.filter(pk__in=wanted)} if wanted else {}
    province = orgs.get(ids["province"])
    province = province if province is not None and province.level == Level.PROVINCE else None
    city = orgs.get(ids["city"])
    city = city if city is not None and city.level == Level.CITY and province and city.parent_id == province.pk \
        else None
    county = orgs.get(ids["county"])
    county = county if county is not None and county.level == Level.COUNTY and city and county.parent_id == city.pk \
        else None
    return RegistryFilter(q=q, program=program, province=province, city=city, county=county)


REGISTRY_ORDER = ("-valid_from", "-pk")


def registry_designations(search: RegistryFilter, *, today=None) -> QuerySet[Designation]:
    """The ids of the designations in force (valid or under rectification, validity not run out), newest
    first: what the paginator counts and slices, on the designations' table alone (no joins to count or
    sort 100,000 rows through)."""
    return _in_force(search, today=today).order_by(*REGISTRY_ORDER).values_list("pk", flat=True)


def registry_rows(page_ids: QuerySet) -> list[dict]:
    """The public fields of one page's designations (`page_ids`, a sliced registry_designations), in its
    order: one query, the page's ids its subquery."""
    return list(Designation.objects.filter(pk__in=page_ids).order_by(*REGISTRY_ORDER).values(*REGISTRY_FIELDS))


# The chart of sites per city: its rows, bar height and the widest bar (SVG user units).
CHART_CITIES, CHART_ROW, CHART_BAR = 60, 22, 320


def registry_chart(search: RegistryFilter, *, today=None) -> dict:
    """Designations in force per city for the same search, in division-code order (one query): the rows of
    the registry's SVG bar chart, each with its bar's width."""
    rows = list(_in_force(search, today=today).values("city__name", "city__division_id")
                .annotate(n=Count("pk")).order_by("city__division_id")[:CHART_CITIES])
    widest = max((row["n"] for row in rows), default=0)
    bars = [{"name": row["city__name"], "n": row["n"], "y": index * CHART_ROW,
             "width": max(1, round(CHART_BAR * row["n"] / widest))} for index, row in enumerate(rows)]
    return {"bars": bars, "height": len(bars) * CHART_ROW, "bar_x": 170}


def _in_force(search: RegistryFilter, *, today=None) -> QuerySet[Designation]:
    today = today or timezone.localdate()
    qs = Designation.objects.filter(status__in=IN_FORCE, valid_until__gte=today)
    if search.program is not None:
        qs = qs.filter(program=search.program)
    if search.area is not None:
        qs = qs.filter(applicant_path__under=search.area.path)
    if search.q:
        qs = qs.filter(Q(awardee_name__icontains=search.q) | Q(host_name__icontains=search.q)
                       | Q(sponsor_society__icontains=search.q) | Q(certificate__number__icontains=search.q))
    return qs


def registry_choices(search: RegistryFilter) -> dict:
    """The search form's choices: programs, provinces, and the cities and counties under the chosen ones."""
    def orgs(level, parent):
        return list(Organization.objects.filter(level=level, parent=parent, kind=OrgKind.KEXIE, active=True)
                    .order_by("path").values("pk", "name"))

    return {
        "programs": list(Program.objects.filter(active=True).order_by("code").values("pk", "name_zh", "name_en")),
        "provinces": list(Organization.objects.filter(level=Level.PROVINCE, kind=OrgKind.KEXIE, active=True).order_by("path")
                          .values("pk", "name")),
        "cities": orgs(Level.CITY, search.province) if search.province else [],
        "counties": orgs(Level.COUNTY, search.city) if search.city else [],
    }
