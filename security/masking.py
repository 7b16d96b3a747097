"""Masking of personal data (个人信息保护法, docs/security.md): one function, `mask`, for every page, list
and export. Whether a person sees a value in full is approvals.access.personal_data_in_full."""
PHONE, EMAIL, USCC, ID_NUMBER = "phone", "email", "uscc", "id_number"
# Form field types (approvals.formspec) that hold personal data, and how each is masked.
FIELD_TYPES = {"phone": PHONE, "email": EMAIL, "uscc": USCC, "id_number": ID_NUMBER, "idcard": ID_NUMBER}
STAR = "*"


def _keep(text: str, head: int, tail: int) -> str:
    if len(text) <= head + tail:
        return STAR * max(len(text), 4)
    return text[:head] + STAR * (len(text) - head - tail) + text[len(text) - tail:]


def mask(value, kind: str) -> str:
    """`value` with its middle replaced by stars: a phone keeps its first 3 and last 4 digits, an e-mail
    address its first character and domain, a USCC its first 2 and last 2 characters (the registration
    authority and the check character), an ID number its first and last character. Empty stays empty."""
    text = "" if value is None else str(value).strip()
    if not text:
        return ""
    if kind == EMAIL and "@" in text:
        name, _at, domain = text.rpartition("@")
        return f"{name[:1]}{STAR * 3}@{domain}"
    if kind == PHONE:
        return _keep(text, 3, 4)
    if kind == USCC:
        return _keep(text, 2, 2)
    if kind == ID_NUMBER:
        return _keep(text, 1, 1)
    return STAR * 4


def mask_field(spec: dict, value):
    """A form value masked by its field's type (FIELD_TYPES); other fields as they are."""
    kind = FIELD_TYPES.get(spec.get("type"))
    if kind is None or value in (None, ""):
        return value
    return mask(value, kind)


def mask_form_data(fields: list[dict], data: dict) -> dict:
    """A copy of an application's form data with every personal-data field masked, list rows included."""
    masked = dict(data or {})
    for spec in fields:
        name = spec.get("name")
        if name not in masked:
            continue
        if spec.get("type") == "list" and isinstance(masked[name], list):
            items = spec.get("item_fields", [])
            masked[name] = [{**row, **{i["name"]: mask_field(i, row.get(i["name"])) for i in items
                                       if i.get("name") in row}} if isinstance(row, dict) else row
                            for row in masked[name]]
        else:
            masked[name] = mask_field(spec, masked[name])
    return masked


def mask_application_fields(fields: list[dict], data: dict) -> dict:
    """A copy of an application's (or a revision's) fields as the API gives them, masked: its `uscc` and
    its `form_data` (mask_form_data); the other keys as they are."""
    masked = dict(data)
    if "uscc" in masked:
        masked["uscc"] = mask(masked["uscc"], USCC)
    if isinstance(masked.get("form_data"), dict):
        masked["form_data"] = mask_form_data(fields, masked["form_data"])
    return masked


def mask_changes(fields: list[dict], changes: list[dict]) -> list[dict]:
    """Copies of the changes between two revisions (approvals.selectors.revision_diff: "field", "old",
    "new") with the USCC's and every personal-data form field's old and new values masked."""
    masked = []
    for change in changes:
        name = change.get("field")
        if name == "uscc":
            change = {**change, "old": mask(change["old"], USCC), "new": mask(change["new"], USCC)}
        elif any(spec.get("name") == name for spec in fields):
            change = {**change, "old": mask_form_data(fields, {name: change["old"]})[name],
                      "new": mask_form_data(fields, {name: change["new"]})[name]}
        masked.append(change)
    return masked
