"""The purpose of an export (个人信息保护法, docs/security.md): every Excel download, on the web and through
the API, states why it is taken (?purpose=), and the purpose goes into the export's entry of the security
log. A web export asked without one answers with a page that asks for it (the link's other parameters
kept); asked with an empty one, the same page with the message, 400. The API answers 400 with the message
(the view, called by the API with ask=False, raises PurposeMissing after its own access checks)."""
from django import forms
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from .models import Kind
from .services import security_record

PURPOSE_MAX_LENGTH = 200  # MSG_PURPOSE_TOO_LONG and the page's field say it
MSG_PURPOSE_REQUIRED = _("请填写导出用途（例如：核对推荐名单、年度统计），导出将记入安全日志")
MSG_PURPOSE_TOO_LONG = _("导出用途最多 200 个字")
PURPOSE_ERRORS = {"required": MSG_PURPOSE_REQUIRED, "blank": MSG_PURPOSE_REQUIRED,
                  "max_length": MSG_PURPOSE_TOO_LONG}


class PurposeForm(forms.Form):
    purpose = forms.CharField(label=_("导出用途"), max_length=PURPOSE_MAX_LENGTH, strip=True,
                              error_messages=PURPOSE_ERRORS)


class PurposeMissing(Exception):
    """No purpose, or an empty or overlong one: `messages` says why (in the API's 400)."""

    def __init__(self, messages: list[str]):
        super().__init__(*messages)
        self.messages = messages


def export_purpose(request, *, ask: bool = True):
    """(purpose, None) when the request states one; else (None, the page that asks for it), or with
    ask=False PurposeMissing."""
    form = PurposeForm(request.GET)
    if form.is_valid():
        return form.cleaned_data["purpose"], None
    if not ask:
        raise PurposeMissing([str(m) for m in form.errors["purpose"]])
    if "purpose" in request.GET:
        status = 400
    else:
        form, status = PurposeForm(), 200
    kept = [(name, value) for name, values in request.GET.lists() if name != "purpose" for value in values]
    page = render(request, "security/export_purpose.html",
                  {"form": form, "kept": kept, "action": request.path}, status=status)
    return None, page


def export_record(request, filename: str, *, purpose: str, **detail):
    """The export in the security log: who, from where (security.services), what and why."""
    return security_record(Kind.EXPORT, request=request, target=filename, detail={**detail, "purpose": purpose})
