"""The public registry of designations in force (/registry/): no login, public fields only
(designations.selectors.REGISTRY_FIELDS), searchable by program, province, city, county and name."""
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_safe

from .selectors import REGISTRY_PAGE_SIZE, registry_choices, registry_designations, registry_filter


@require_safe
def registry(request):
    search = registry_filter(request.GET)
    page = Paginator(registry_designations(search), REGISTRY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "designations/registry.html", {
        "search": search, "page": page, "rows": list(page.object_list), "query": query.urlencode(),
        **registry_choices(search),
    })
