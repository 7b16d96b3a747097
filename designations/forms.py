"""The forms of the designation pages (annual reports, rectifications, revocation proposals, renewals), drawn
with the application form's Material field (approvals/_field.html): a refusal comes back on the page it was
made on, with each field's error under the field and the rest at the top of the form. The fields only
carry what was typed: the services check everything (a draft may be saved half-filled, so no field is
required here; what submission requires is marked)."""
from django import forms
from django.utils.translation import gettext_lazy as _

from approvals.errors import ApprovalError
from approvals.stages import Grade


def _text(label, *, rows: int = 0, to_submit: bool = False, **attrs) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": rows, **attrs}) if rows else forms.TextInput(attrs=attrs)
    field = forms.CharField(label=label, required=False, strip=False, widget=widget)
    field.required_to_submit = to_submit
    return field


class PageForm(forms.Form):
    """A form of a designation page; `refused` puts a service's refusal on it."""

    def refused(self, error: ApprovalError, *, rename: dict | None = None) -> None:
        """Each of the refusal's field errors under its field; its message at the top of the form, unless it
        only repeats a field's error (the top then points to the fields)."""
        self.full_clean()
        under_fields = set()
        for name, messages in error.errors.items():
            field = (rename or {}).get(name, name)
            messages = [str(m) for m in messages] if isinstance(messages, list | tuple) else [str(messages)]
            self.add_error(field if field in self.fields else None, messages)
            if field in self.fields:
                under_fields.update(messages)
        if error.message not in under_fields:
            self.add_error(None, error.message)


class FollowUpForm(PageForm):
    """A program's follow-up form (an annual report's or a renewal's fields, designations.chain.follow_up);
    `textareas`: every field a text area (a renewal's), else only those the program declares so."""

    def __init__(self, specs: list[dict], *args, textareas: bool = False, extra: dict | None = None, **kwargs):
        kwargs.setdefault("auto_id", "f-%s")
        super().__init__(*args, **kwargs)
        for spec in specs:
            rows = 3 if textareas else (4 if spec.get("type") == "textarea" else 0)
            self.fields[spec["name"]] = _text(spec.get("label", spec["name"]), rows=rows,
                                              to_submit=bool(spec.get("required")))
        self.fields.update(extra or {})


def report_review_form(allowed, data=None) -> PageForm | None:
    """The annual report's sign-off, review and grading inputs that this person's actions take."""
    fields = {}
    if "report_grade" in allowed:
        fields["grade"] = forms.ChoiceField(label=_("评定等次"), required=False,
                                            choices=[("", "—"), *Grade.choices])
        fields["grade"].required_to_submit = True
        fields["expert_score"] = _text(_("专家评分"), inputmode="decimal")
    if {"report_sign_off", "report_city_accept", "report_grade"} & set(allowed):
        fields["reason"] = _text(_("意见（退回时必填）"), rows=3)
    if not fields:
        return None
    form = PageForm(data, auto_id="review-%s")
    form.fields.update(fields)
    return form


def case_form(specs: list[dict], inputs: set, *, can_fill: bool, initial: dict, data=None) -> FollowUpForm:
    """The one form of a rectification's, a revocation proposal's or a renewal's page: the renewal's fields
    when this person fills it, the rectification report, and the comment the buttons take."""
    extra = {}
    if "text" in inputs:
        extra["text"] = _text(_("整改报告"), rows=5, to_submit=True)
    if "reason" in inputs or "comment" in inputs:
        extra["comment"] = _text(_("意见（退回、不通过、不予续期、摘牌决定时必填）"), rows=3)
    return FollowUpForm(specs if can_fill else [], data, textareas=True, extra=extra, initial=initial)
