"""Web forms: the application form built from the program's field specification, and the action form."""
import json

from django import forms
from django.utils.translation import gettext_lazy as _

from orgs.models import Division


class ApplicationForm(forms.Form):
    """Common fields plus one field per entry of `program.form_fields`. List fields travel as JSON written
    by the repeatable-rows editor on the page; the services validate everything again."""

    subject_name = forms.CharField(label=_("申报主体名称"), max_length=200)
    uscc = forms.CharField(label=_("统一社会信用代码"), max_length=18, required=False)
    division_code = forms.ChoiceField(label=_("所在区划"))

    def __init__(self, *args, program, applicant, editing: bool = False, **kwargs):
        kwargs.setdefault("label_suffix", "：")
        super().__init__(*args, **kwargs)
        self.program = program
        if editing:
            # The version the page was opened on (approvals.drafts): a save on an older one is refused.
            self.fields["version"] = forms.IntegerField(
                widget=forms.HiddenInput, min_value=0,
                error_messages={"required": _("页面缺少版本信息，请刷新后重新填写"),
                                "invalid": _("页面缺少版本信息，请刷新后重新填写")})
        divisions = Division.objects.subject_choices(applicant=applicant).order_by("code")
        self.fields["division_code"].choices = [(d.code, f"{d.code} {d.name}") for d in divisions]
        if not program.requires_uscc:
            self.fields["uscc"].help_text = _("本类别可不填")
        for spec in program.form_fields:
            self.fields[f"f_{spec['name']}"] = self._field(spec)

    @staticmethod
    def _field(spec):
        kind = spec.get("type", "text")
        common = {"label": spec.get("label", spec["name"]), "required": False}
        field = ApplicationForm._plain_field(spec, kind, common)
        # Drafts may be saved half-filled: what submission requires is marked (approvals/_field.html), and
        # checked then.
        field.required_to_submit = bool(spec.get("required"))
        return field

    @staticmethod
    def _plain_field(spec, kind, common):
        if kind == "textarea":
            return forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), **common)
        if kind == "int":
            return forms.IntegerField(**common)
        if kind == "decimal":
            return forms.DecimalField(**common)
        if kind == "date":
            return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
        if kind == "email":
            return forms.EmailField(**common)
        if kind == "choice":
            choices = [("", "—")] + [tuple(c) if isinstance(c, list) else (c, c) for c in spec.get("choices", [])]
            return forms.ChoiceField(choices=choices, **common)
        if kind == "bool":
            return forms.BooleanField(**common)
        if kind == "list":
            widget = forms.HiddenInput(attrs={
                "data-rows": json.dumps(spec.get("item_fields", []), ensure_ascii=False),
                "data-label": spec.get("label", spec["name"]),
            })
            return forms.CharField(widget=widget, **common)
        return forms.CharField(**common)

    def form_data(self) -> dict:
        data = {}
        for spec in self.program.form_fields:
            value = self.cleaned_data.get(f"f_{spec['name']}")
            if spec.get("type") == "list":
                try:
                    value = json.loads(value) if value else []
                except json.JSONDecodeError:
                    value = []
            elif value is not None and not isinstance(value, str | bool | int):
                value = str(value)
            if value not in (None, ""):
                data[spec["name"]] = value
        return data

    @classmethod
    def initial_from(cls, application) -> dict:
        initial = {"subject_name": application.subject_name, "uscc": application.uscc,
                   "division_code": application.division_id, "version": application.audit_seq}
        for spec in application.program.form_fields:
            value = application.form_data.get(spec["name"])
            if spec.get("type") == "list":
                value = json.dumps(value or [], ensure_ascii=False)
            initial[f"f_{spec['name']}"] = value
        return initial


def reconciled_after_stale(data, *, current, error, program, applicant) -> ApplicationForm:
    """The edit form after a stale save (approvals.errors.StaleVersion): what the user typed, except the
    fields someone else changed since, which show the saved values, with the user's own value named in
    the field's error; the version is the current one. Saving it again keeps both people's changes."""
    data = data.copy()
    saved = ApplicationForm.initial_from(current)
    probe = ApplicationForm(program=program, applicant=applicant, editing=True)
    typed = {}
    for name in error.errors:
        field = name if name in probe.fields else f"f_{name}"
        if field in probe.fields:
            typed[field] = data.get(field, "")
            value = saved.get(field)
            data[field] = "" if value is None else value
    data["version"] = current.audit_seq
    form = ApplicationForm(data, program=program, applicant=applicant, editing=True)
    form.is_valid()
    form.add_error(None, error.message)
    for field, value in typed.items():
        messages = list(error.errors.get(field.removeprefix("f_"), []))
        if str(value) != str(data[field]):
            messages.append(_("此处已换成保存的内容；您填写的是：%(value)s") % {"value": value or "（空）"})
        form.add_error(field, messages)
    return form


class AttachmentForm(forms.Form):
    kind = forms.ChoiceField(label=_("附件类型"))
    # The server's refusal of a file is shown under it (#upload-error, the detail page's upload script); the
    # chosen file's name beside it (approvals/_file_picker.html).
    file = forms.FileField(label=_("文件"), widget=forms.FileInput(attrs={
        "aria-describedby": "id_file_chosen upload-error", "class": "kx-filepick__input"}))

    def __init__(self, *args, program, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k["code"], k["label"]) for k in program.attachment_kinds]
