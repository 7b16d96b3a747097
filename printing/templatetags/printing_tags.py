"""``{% printing_links application as links %}``: the print and certificate links a user may open for an
application (used by the application detail page), each as {"label", "url"}; approvals.access decides which."""
from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

from approvals import access
from approvals.models import Status
from orgs.access import principal_of

register = template.Library()

_NOTICE_STATUSES = {Status.PUBLIC_NOTICE, Status.APPROVED, Status.CERTIFIED, Status.REVOKED, Status.EXPIRED}


@register.simple_tag(takes_context=True)
def printing_links(context, application) -> list[dict]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    principal = principal_of(user)
    links = []
    form_url = reverse("printing:application_form", args=[application.pk])
    revisions = list(application.revisions.values_list("number", flat=True))
    if application.revision not in revisions:
        revisions.append(application.revision)
    for number in sorted(revisions):
        links.append({"label": _("申报书（第%(number)s版）") % {"number": number}, "url": f"{form_url}?revision={number}"})
    if access.may_see_province_copy(principal, application):
        for number in sorted(revisions):
            links.append({"label": _("申报书省级存档联（第%(number)s版，含专家评分）") % {"number": number},
                          "url": f"{form_url}?revision={number}&copy=province"})
    certificate = getattr(application, "certificate", None) if application.status in (
        Status.CERTIFIED, Status.REVOKED, Status.EXPIRED) else None
    if certificate is not None:
        links.append({"label": _("证书 PDF"), "url": reverse("printing:certificate_pdf", args=[certificate.pk])})
        links.append({"label": _("证书核验页"), "url": reverse("printing:verify", args=[certificate.token])})
    batch = application.batch
    if access.may_see_city_documents(principal, application.city):
        query = f"?city={application.city_id}"
        links.append({"label": _("推荐函"), "url": reverse("printing:recommendation_letter", args=[batch.pk]) + query})
        links.append({"label": _("推荐汇总表 PDF"), "url": reverse("printing:summary_pdf", args=[batch.pk]) + query})
        links.append({"label": _("推荐汇总表 Excel"), "url": reverse("printing:summary_xlsx", args=[batch.pk]) + query})
    if application.status in _NOTICE_STATUSES and access.may_see_batch(principal, batch):
        links.append({"label": _("公示名单 PDF"), "url": reverse("printing:notice_pdf", args=[batch.pk])})
        links.append({"label": _("公示页面"), "url": reverse("printing:notice", args=[batch.pk])})
    if application.status in (Status.APPROVED, Status.CERTIFIED) and access.may_issue_certificates(principal, batch):
        links.append({"label": _("批量颁发证书"), "url": reverse("printing:issue_all", args=[batch.pk])})
    return links
