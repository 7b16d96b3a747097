"""The REST API: applications scoped to the caller, their history and attachments, and every transition as
a POST action. Views are thin: reads go through approvals.selectors, writes through approvals.services,
and a refused action comes back as {"code", "message", "detail", "errors"} (approvals.api_errors) with the service's status code."""
import io
import logging
import re

import django_filters
from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from orgs.access import principal_of
from orgs.models import Organization
from printing.views import ApplicationFormPdfView, CertificatePdfView
from security import masking
from workflows.deadlines import application_open_deadlines

from . import access, drafts, selectors
from . import errors as E
from . import services as svc
from .api_errors import (
    MSG_FORBIDDEN,
    MSG_LOCKED_OUT,
    MSG_METHOD_NOT_ALLOWED,
    MSG_NOT_FOUND,
    MSG_SERVER_ERROR,
    error_body,
    too_large_message,
)
from .api_parsers import StrictJSONParser
from .attachments import read_file
from .models import Application, Attachment, AuditEvent, Batch, Opinion, Revision, Status
from .stages import (
    ACTIONS,
    COMMENT_MAX_LENGTH,
    MIN_EXPERTS,
    ROUTED_ACTIONS,
    SCORE_MAX,
    SCORE_MIN,
    SCORE_PLACES,
    Action,
    ActionSpec,
)

logger = logging.getLogger(__name__)

MSG_INVALID_REQUEST = _("请求内容有误")
MSG_REVISION_NOT_FOUND = _("所请求的申报版本不存在")
MSG_ATTACHMENT_NOT_FOUND = _("附件不存在")
MSG_FILE_MISSING = _("附件文件已丢失，请联系管理员")
MSG_EXPERTS_FORBIDDEN = _("只有省级科协审核人可以查看可指派的评审专家")
MSG_NO_CERTIFICATE = _("该申报尚未颁发证书")
MSG_RENDER_FAILED = _("申报书生成失败，请联系管理员")

# The engine fills its action labels (approvals.stages.Action, in the "action" context) into messages; the
# exception handler translates them into the request's language.
ACTION_CONTEXT = "action"


# ----------------------------------------------------------------------------------------- errors


def _plain(detail):
    """DRF error details as plain JSON: strings in lists, nested the way the input was."""
    if isinstance(detail, dict):
        return {str(key): _plain(value) for key, value in detail.items()}
    if isinstance(detail, list | tuple):
        return [_plain(item) for item in detail]
    return str(detail)


def approval_error_message(exc: E.ApprovalError) -> str:
    """The error's message in the active language, with the engine's action label translated too."""
    params = dict(exc.params)
    if isinstance(params.get("action"), str):
        params["action"] = pgettext(ACTION_CONTEXT, params["action"])
    template = str(exc.message_template)
    return template % params if params else template


# DRF's own exceptions: stable codes are theirs (exc.default_code); the messages are ours, translated.
MSG_PARSE_ERROR = _("请求内容不是有效的 JSON")
MSG_UNSUPPORTED_MEDIA = _("不支持的内容类型“%(type)s”：请以 application/json 提交")
MSG_NOT_ACCEPTABLE = _("无法按 Accept 请求头要求的格式答复")
MSG_NOT_AUTHENTICATED = _("未登录：请在 Authorization 请求头中提供令牌（Token …）")
MSG_AUTH_FAILED = _("令牌无效或已失效")
MSG_THROTTLED = _("请求过于频繁，请稍后再试")


def _drf_message(exc, request) -> str:
    if getattr(exc, "api_message", None):  # a message of its own (a parse error's, a forced password change)
        return str(exc.api_message)
    if isinstance(exc, LockedOut):
        return str(MSG_LOCKED_OUT)
    if isinstance(exc, exceptions.ParseError):
        return str(MSG_PARSE_ERROR)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return str(MSG_UNSUPPORTED_MEDIA % {"type": getattr(request, "content_type", "") or ""})
    if isinstance(exc, exceptions.MethodNotAllowed):
        return str(MSG_METHOD_NOT_ALLOWED)
    if isinstance(exc, exceptions.NotAcceptable):
        return str(MSG_NOT_ACCEPTABLE)
    if isinstance(exc, exceptions.NotAuthenticated):
        return str(MSG_NOT_AUTHENTICATED)
    if isinstance(exc, exceptions.AuthenticationFailed):
        return str(MSG_AUTH_FAILED)
    if isinstance(exc, exceptions.Throttled):
        return str(MSG_THROTTLED)
    if isinstance(exc, exceptions.NotFound | Http404):
        return str(MSG_NOT_FOUND)
    if isinstance(exc, exceptions.PermissionDenied | DjangoPermissionDenied):
        return str(MSG_FORBIDDEN)
    detail = getattr(exc, "detail", "")
    return str(detail) if isinstance(detail, str) else str(MSG_INVALID_REQUEST)


def exception_handler(exc, context):
    """Every error of a view in the shape of approvals.api_errors: ApprovalError → its http_status, DRF
    validation → 400 with the fields' messages in errors, DRF's own refusals (parse error, 401, 404, 405,
    415, 429) with their stable code and our translated message, anything else → a logged 500."""
    if isinstance(exc, E.ApprovalError):
        errors = {str(field): _plain(message) if isinstance(message, list | dict) else [str(message)]
                  for field, message in exc.errors.items()}
        response = Response(error_body(exc.code, approval_error_message(exc), errors), status=exc.http_status)
        if isinstance(exc, E.StaleVersion):
            response["ETag"] = f'"{exc.params["current"]}"'  # the version to start again from
        return response
    if isinstance(exc, RequestDataTooBig):  # a body over DATA_UPLOAD_MAX_MEMORY_SIZE, refused before parsing
        return Response(error_body("too_large", too_large_message()), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    response = drf_exception_handler(exc, context)
    if response is None:
        request = context.get("request")
        logger.exception("API %s %s failed", getattr(request, "method", "?"), getattr(request, "path", "?"))
        return Response(error_body("server_error", MSG_SERVER_ERROR), status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {api_settings.NON_FIELD_ERRORS_KEY: exc.detail}
        errors = _plain(errors)
        # One message alone is the answer itself (as the service would have said it).
        messages = [m for value in errors.values() for m in (value if isinstance(value, list) else [value])]
        detail = messages[0] if len(messages) == 1 and isinstance(messages[0], str) else str(MSG_INVALID_REQUEST)
        response.data = error_body(getattr(exc, "api_code", "invalid"), detail, errors)
    else:
        code = getattr(exc, "api_code", None) or getattr(exc, "default_code", "error")
        if isinstance(exc, Http404):
            code = "not_found"
        elif isinstance(exc, DjangoPermissionDenied):
            code = "permission_denied"
        response.data = error_body(code, _drf_message(exc, context.get("request")))
    return response


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.JSONField(),
                                   help_text="字段 → 该字段的错误信息（列表；嵌套字段为对象）")


ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="输入有误或不满足申报条件"),
    403: OpenApiResponse(ErrorSerializer, description="可以查看，但无权在当前环节执行该操作"),
    404: OpenApiResponse(ErrorSerializer, description="申报不存在或不在权限范围内"),
    409: OpenApiResponse(ErrorSerializer, description="当前状态不允许该操作，或名额已满、并发冲突"),
}


# The codes a request the schema allows may still be refused with (400), by rules no schema can state: a
# field that fails one of the engine's rules (`invalid`, naming the field in `errors`: a batch that is not
# open, a credit code's check digit, a character the print fonts lack …) or a rule of the program (`rule`:
# a threshold, the window, a ban). The schema names them on each such operation (x-rule-codes), and
# scripts/api_check.sh accepts a 400 to schema-valid data only with one of them (docs/api.md).
RULE_CODES_EXTENSION = "x-rule-codes"
RULE_CODES = ["invalid", "rule"]
RULE_REFUSALS = {RULE_CODES_EXTENSION: RULE_CODES}
# The token endpoint: user name and password that do not match (as DRF's endpoint, 400 invalid), or an
# account that must give a second factor and gave none or a wrong one (security.api).
TOKEN_REFUSALS = {RULE_CODES_EXTENSION: ["invalid", "two_factor_required", "two_factor_failed"]}


IF_MATCH = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=True,
                            description="读取申报时响应头中的 ETag，如 \"12\"")


class ApiMixin:
    """Uniform error bodies without touching the project-wide DRF settings, and token authentication
    first so that an anonymous call is answered 401 (403 in this API means "may see, may not act")."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    parser_classes = [StrictJSONParser]

    def get_exception_handler(self):
        return exception_handler


class LockedOut(exceptions.Throttled):
    """Too many failed logins for this user name from this address (django-axes): 429, its own message."""

    default_code = "locked_out"


class TokenObtainView(ApiMixin, ObtainAuthToken):
    """POST username and password, receive the user's API token. After AXES_FAILURE_LIMIT failures the
    user name is locked for AXES_COOLOFF_TIME hours from that address: 429 locked_out, not a wrong password."""

    authentication_classes = []  # the credentials are in the body
    parser_classes = [StrictJSONParser, FormParser]

    @extend_schema(summary="以用户名和密码换取 API 令牌",
                   responses={200: OpenApiResponse(description="{\"token\": \"…\"}"), 400: ERRORS[400],
                              429: OpenApiResponse(ErrorSerializer, description="登录失败次数过多，暂时锁定")})
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        valid = serializer.is_valid()
        # axes marks the request it was handed (DRF's) or the Django one underneath
        if getattr(request, "axes_locked_out", False) or getattr(request._request, "axes_locked_out", False):
            raise LockedOut(wait=int(float(settings.AXES_COOLOFF_TIME) * 3600))
        if not valid:
            raise exceptions.ValidationError(serializer.errors)
        token, _created = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})


# ------------------------------------------------------------------------------------ serializers


def _person(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.get_full_name() or user.get_username()}


# What a text field takes, as the schema says it (CharField refuses NUL characters; one that may not be
# blank needs something besides white space, which is trimmed).
TEXT_PATTERN = r"^[^\x00]*$"
NOT_BLANK_PATTERN = r"^[^\x00]*[^\x00\s][^\x00]*$"


class TextField(serializers.CharField):
    """Text, and only text: a number, list, object or boolean is refused, not stored as its Python spelling."""

    default_error_messages = {"invalid": _("应为文本")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class TextFieldSchema(OpenApiSerializerFieldExtension):
    """A TextField in the schema: a string without NUL, not blank unless allowed, within its length."""

    target_class = "approvals.api.TextField"

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = {"type": "string", "pattern": TEXT_PATTERN if field.allow_blank else NOT_BLANK_PATTERN}
        if not field.allow_blank:
            schema["minLength"] = 1
        if field.max_length is not None:
            schema["maxLength"] = field.max_length
        return schema


class IdField(serializers.IntegerField):
    """An id or a version number: a whole number from 1 to 2³¹−1 (the database's integer)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**31 - 1)
        super().__init__(**kwargs)


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class PersonalDataMasked:
    """An application's (or one of its revisions') USCC and personal-data form fields masked for whoever
    does not act on it: the rule of the web pages and the exports (approvals.access.personal_data_in_full,
    security.masking), with the principal the view puts in the context ("principal"; masked without one)."""

    def _application(self, instance):
        return instance

    def to_representation(self, instance):
        data = super().to_representation(instance)
        application = self._application(instance)
        principal = self.context.get("principal")
        if principal is not None and access.personal_data_in_full(principal, application):
            return data
        return masking.mask_application_fields(application.program.form_fields, data)


class ApplicationListSerializer(PersonalDataMasked, serializers.ModelSerializer):
    """Only what the selector's select_related covers, so a page costs the same queries at any size."""

    program = serializers.CharField(source="program.code")
    program_name = serializers.CharField(source="program.name")
    batch_name = serializers.CharField(source="batch.name")
    year = serializers.IntegerField(source="batch.year")
    applicant_name = serializers.CharField(source="applicant.name")
    city_name = serializers.CharField(source="city.name")
    division_code = serializers.CharField(source="division_id")
    status_label = serializers.CharField(source="get_status_display")

    class Meta:
        model = Application
        fields = [
            "id", "program", "program_name", "batch", "batch_name", "year", "applicant", "applicant_name",
            "city", "city_name", "province", "subject_name", "uscc", "division_code", "status", "status_label",
            "revision", "created_at", "updated_at", "submitted_at", "stage_entered_at",
        ]
        read_only_fields = fields


class CertificateSummarySerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.CharField()
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    issued_on = serializers.DateField()


class DeadlineSerializer(serializers.Serializer):
    """An open task's due date; `due_on_is_estimate` when it was counted through a provisional day (估算)."""

    stage = serializers.CharField()
    role = serializers.CharField()
    due_on = serializers.DateField()
    due_on_is_estimate = serializers.BooleanField(source="is_estimate")


class ApplicationDetailSerializer(ApplicationListSerializer):
    certificate = serializers.SerializerMethodField()
    # The notice's end was counted through a provisional day (a year whose arrangement is not loaded).
    notice_ends_on_is_estimate = serializers.BooleanField(read_only=True)
    deadlines = serializers.SerializerMethodField()

    class Meta(ApplicationListSerializer.Meta):
        fields = ApplicationListSerializer.Meta.fields + [
            "form_data", "notice_starts_on", "notice_ends_on", "notice_ends_on_is_estimate", "decided_at",
            "certificate", "deadlines",
        ]
        read_only_fields = fields

    @extend_schema_field(DeadlineSerializer(many=True))
    def get_deadlines(self, application):
        return DeadlineSerializer(application_open_deadlines(application_id=application.pk), many=True).data

    @extend_schema_field(CertificateSummarySerializer(allow_null=True))
    def get_certificate(self, application):
        certificate = getattr(application, "certificate", None)
        return CertificateSummarySerializer(certificate).data if certificate is not None else None


class ApplicationCreateSerializer(serializers.Serializer):
    batch = serializers.PrimaryKeyRelatedField(queryset=Batch.objects.select_related("program"))
    applicant = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all())
    subject_name = TextField(max_length=200, allow_blank=True)
    uscc = TextField(max_length=18, required=False, allow_blank=True, default="")
    division_code = TextField(max_length=6)
    form_data = serializers.DictField(required=False, default=dict)


class ApplicationEditSerializer(serializers.Serializer):
    """Only the fields sent are changed, and in form_data only the keys sent (null removes a key); form
    data may stay half-filled until submission. The If-Match header names the version (ETag) edited."""

    subject_name = TextField(max_length=200, required=False, allow_blank=True)
    uscc = TextField(max_length=18, required=False, allow_blank=True)
    division_code = TextField(max_length=6, required=False)
    form_data = serializers.DictField(required=False, child=serializers.JSONField(allow_null=True))


class RevisionSerializer(PersonalDataMasked, serializers.ModelSerializer):
    def _application(self, instance):
        return self.context["application"]

    class Meta:
        model = Revision
        fields = ["number", "subject_name", "uscc", "division_code", "form_data", "attachments", "created_at"]
        read_only_fields = fields


class RevisionDiffQuerySerializer(serializers.Serializer):
    old = IdField()
    new = IdField()


class FormPdfQuerySerializer(serializers.Serializer):
    revision = IdField(required=False, help_text="版本号；不填为当前版本")


class FormPdfPendingSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="rendering")
    retry_after = serializers.IntegerField()


class RevisionChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    label = serializers.CharField()
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class AttachmentSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = [
            "id", "revision", "kind", "original_name", "content_type", "size", "sha256", "uploaded_by",
            "uploaded_at", "removed_in", "download_url",
        ]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer)
    def get_uploaded_by(self, attachment):
        return _person(attachment.uploaded_by)

    def get_download_url(self, attachment) -> str:
        path = reverse("api:application-attachment-download", args=[attachment.application_id, attachment.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class AttachmentUploadSerializer(serializers.Serializer):
    kind = TextField(max_length=64)
    file = serializers.FileField()


class OpinionSerializer(serializers.ModelSerializer):
    # The stage is the status the application was in; plain text keeps one enum (StatusEnum) in the schema.
    stage = serializers.CharField()
    stage_label = serializers.CharField(source="get_stage_display")
    person = serializers.SerializerMethodField()
    organization_name = serializers.CharField(source="organization.name")

    class Meta:
        model = Opinion
        fields = ["id", "revision", "stage", "stage_label", "decision", "text", "person", "role", "organization",
                  "organization_name", "created_at"]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer)
    def get_person(self, opinion):
        return _person(opinion.person)


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    organization_name = serializers.CharField(source="organization.name", default=None)

    class Meta:
        model = AuditEvent
        fields = ["seq", "action", "from_status", "to_status", "actor", "organization", "organization_name",
                  "role", "revision", "comment", "created_at", "prev_hash", "hash"]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_actor(self, event):
        return _person(event.actor)


# Bodies of the transitions, built from each action's inputs in approvals.stages; each field is passed to
# the service as the keyword of the same name, and the service checks it again (the web form ends there too).
@extend_schema_field({"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                      "minItems": MIN_EXPERTS, "uniqueItems": True})
class ExpertIdsField(serializers.ListField):
    """Experts' ids, each once (the service counts distinct experts)."""

    def to_internal_value(self, data):
        ids = super().to_internal_value(data)
        if len(set(ids)) != len(ids):
            self.fail("unique")
        return ids


# A score as the schema says it: a whole number, or a string with at most one decimal place, from 0 to 100.
SCORE_TEXT = r"^(100(\.0)?|[1-9]?[0-9](\.[0-9])?)$"
assert (SCORE_MIN, SCORE_MAX, SCORE_PLACES) == (0, 100, 1), "SCORE_TEXT spells these bounds"


@extend_schema_field({"oneOf": [{"type": "integer", "minimum": int(SCORE_MIN), "maximum": int(SCORE_MAX)},
                                {"type": "string", "pattern": SCORE_TEXT}],
                      "description": "0 到 100 的分数：整数，或最多一位小数的字符串（如 \"88.5\"）"})
class ScoreField(serializers.DecimalField):
    """A score: a JSON whole number or a decimal string such as "88.5"; a float, a boolean or a padded or
    exponent spelling is refused (what the schema allows is what is taken)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        if isinstance(data, str) and not re.fullmatch(SCORE_TEXT, data):
            self.fail("invalid")
        return super().to_internal_value(data)


def _input_field(name: str, spec: ActionSpec) -> serializers.Field:
    """The schema of one input; a refusal says what the service would say (one set of rules and messages)."""
    if name == "comment":
        required = spec.opinion_required
        opinion = {"required": E.MSG_OPINION_REQUIRED, "blank": E.MSG_OPINION_REQUIRED,
                   "null": E.MSG_OPINION_REQUIRED,
                   "max_length": E.MSG_COMMENT_LENGTH % {"max": COMMENT_MAX_LENGTH}}
        return TextField(required=required, allow_blank=not required, max_length=COMMENT_MAX_LENGTH,
                                     error_messages=opinion, **({} if required else {"default": ""}))
    if name == "expert_ids":
        few = E.MSG_EXPERTS_REQUIRED % {"min": MIN_EXPERTS}
        return ExpertIdsField(child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
                              min_length=MIN_EXPERTS, error_messages={"min_length": few, "empty": few, "unique": few})
    if name == "score":
        score = {key: E.MSG_SCORE_RANGE for key in ("invalid", "max_value", "min_value", "max_digits",
                                                    "max_decimal_places", "max_whole_digits", "required", "null")}
        return ScoreField(max_digits=3 + SCORE_PLACES, decimal_places=SCORE_PLACES,
                          min_value=SCORE_MIN, max_value=SCORE_MAX, error_messages=score)
    if name in ("approve", "upheld"):
        return serializers.BooleanField()
    if name == "starts_on":
        return serializers.DateField(required=False, allow_null=True, default=None,
                                     help_text=str(_("工作日，今天起至若干天内；不填为最早的可选日")))
    raise KeyError(name)


def _body_serializer(spec: ActionSpec) -> type[serializers.Serializer]:
    name = "".join(part.title() for part in spec.action.value.split("_")) + "Body"
    fields = {field: _input_field(field, spec) for field in spec.inputs}
    return type(name, (serializers.Serializer,), fields)


BODIES = {action: _body_serializer(spec) for action, spec in ACTIONS.items() if action in ROUTED_ACTIONS}


def transition_route(name: Action):
    """Declare a POST route /applications/{id}/<the action's URL>/ for a method named like the action; its
    body, summary and answers come from the stage table."""
    spec, body = ACTIONS[name], BODIES[name]

    def decorate(method):
        assert method.__name__ == name.method, (method.__name__, name.method)
        method = action(detail=True, methods=["post"], url_path=name.url, url_name=name.url,
                        serializer_class=body, pagination_class=None, filterset_class=None,
                        parser_classes=[StrictJSONParser])(method)
        return extend_schema(
            summary=str(spec.summary), request=body if spec.inputs else None,
            responses={200: ApplicationDetailSerializer, **ERRORS}, operation_id=f"applications_{name.value}",
            extensions=RULE_REFUSALS,
        )(method)

    return decorate


# ----------------------------------------------------------------------------------------- filters


class IntegerFilter(django_filters.NumberFilter):
    """A whole number within the database's integer (1 to 2³¹−1 unless told): ?city=1e30 or a 20-digit id
    is a 400 naming the parameter, not an overflow."""

    field_class = forms.IntegerField

    def __init__(self, *args, min_value=1, max_value=2**31 - 1, **kwargs):
        super().__init__(*args, min_value=min_value, max_value=max_value, **kwargs)


class ApplicationFilter(django_filters.FilterSet):
    program = django_filters.CharFilter(field_name="program__code", label="申报类别代码")
    batch = IntegerFilter(field_name="batch_id", label="批次 id")
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, label="状态")
    city = IntegerFilter(field_name="city_id", label="市级科协 id")
    year = IntegerFilter(field_name="batch__year", label="年度", min_value=1900, max_value=2999)
    search = django_filters.CharFilter(method="filter_search", label="申报主体名称或统一社会信用代码")

    class Meta:
        model = Application
        fields = ["program", "batch", "status", "city", "year", "search"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(access.application_search_q(principal_of(self.request.user), value))


# ---------------------------------------------------------------------------------------- the views


class IgnoreAcceptNegotiation(BaseContentNegotiation):
    """A download answers with the file whatever the Accept header says; errors still render as JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ApplicationViewSet(ApiMixin, viewsets.GenericViewSet):
    """Applications the caller may see (their organizations' subtree plus objects granted to them)."""

    queryset = Application.objects.none()  # for schema generation; requests use the selector
    serializer_class = ApplicationListSerializer
    filterset_class = ApplicationFilter
    lookup_value_regex = r"\d+"
    parser_classes = [StrictJSONParser]  # JSON only; the attachment upload alone is multipart

    @property
    def actor(self) -> svc.Actor:
        return svc.Actor(user=self.request.user, ip=self.request.META.get("REMOTE_ADDR"))

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Application.objects.none()
        return selectors.application_list(user=self.request.user)

    def get_serializer_context(self):
        # Whom the personal data is shown to in full (PersonalDataMasked): built once per request.
        return {**super().get_serializer_context(), "principal": principal_of(self.request.user)}

    def get_application(self) -> Application:
        application = selectors.application_get(user=self.request.user, pk=int(self.kwargs["pk"]))
        if application is None:
            raise E.NotFound(E.MSG_NOT_FOUND)
        return application

    def _detail(self, application, status_code=status.HTTP_200_OK, headers=None) -> Response:
        data = ApplicationDetailSerializer(application, context=self.get_serializer_context()).data
        # The version an edit must name in If-Match (approvals.drafts).
        return Response(data, status=status_code, headers={**(headers or {}), "ETag": drafts.etag(application)})

    def _transition(self, name: Action, request, pk) -> Response:
        body = BODIES[name](data=request.data)
        body.is_valid(raise_exception=True)
        service = getattr(svc, f"application_{name.value}")
        service(actor=self.actor, application_id=int(pk), **body.validated_data)
        return self._detail(self.get_application())

    # --- the transitions (one per routed action of approvals.stages; the order of the stage table)

    @transition_route(Action.SUBMIT)
    def submit(self, request, pk=None):
        return self._transition(Action.SUBMIT, request, pk)

    @transition_route(Action.SIGN_OFF)
    def sign_off(self, request, pk=None):
        return self._transition(Action.SIGN_OFF, request, pk)

    @transition_route(Action.RECOMMEND)
    def recommend(self, request, pk=None):
        return self._transition(Action.RECOMMEND, request, pk)

    @transition_route(Action.ACCEPT)
    def accept(self, request, pk=None):
        return self._transition(Action.ACCEPT, request, pk)

    @transition_route(Action.ASSIGN_EXPERTS)
    def assign_experts(self, request, pk=None):
        return self._transition(Action.ASSIGN_EXPERTS, request, pk)

    @transition_route(Action.SCORE)
    def score(self, request, pk=None):
        return self._transition(Action.SCORE, request, pk)

    @transition_route(Action.DECIDE)
    def decide(self, request, pk=None):
        return self._transition(Action.DECIDE, request, pk)

    @transition_route(Action.PUBLISH_NOTICE)
    def publish_notice(self, request, pk=None):
        return self._transition(Action.PUBLISH_NOTICE, request, pk)

    @transition_route(Action.OBJECT)
    def object(self, request, pk=None):
        return self._transition(Action.OBJECT, request, pk)

    @transition_route(Action.APPROVE)
    def approve(self, request, pk=None):
        return self._transition(Action.APPROVE, request, pk)

    @transition_route(Action.ISSUE_CERTIFICATE)
    def issue_certificate(self, request, pk=None):
        return self._transition(Action.ISSUE_CERTIFICATE, request, pk)

    @transition_route(Action.RETURN)
    def return_(self, request, pk=None):
        return self._transition(Action.RETURN, request, pk)

    @transition_route(Action.DECLINE)
    def decline(self, request, pk=None):
        return self._transition(Action.DECLINE, request, pk)

    @transition_route(Action.WITHDRAW)
    def withdraw(self, request, pk=None):
        return self._transition(Action.WITHDRAW, request, pk)

    @transition_route(Action.REVOKE)
    def revoke(self, request, pk=None):
        return self._transition(Action.REVOKE, request, pk)

    # --- the collection and one application

    @extend_schema(summary="可见的申报（本组织及下级，以及被授予的）")
    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        serializer = ApplicationListSerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(serializer.data)

    @extend_schema(summary="申报详情", responses={200: ApplicationDetailSerializer, 404: ERRORS[404]})
    def retrieve(self, request, pk=None):
        return self._detail(self.get_application())

    @extend_schema(summary="创建申报草稿（县级或市级经办人）", request=ApplicationCreateSerializer,
                   responses={201: ApplicationDetailSerializer, 400: ERRORS[400], 403: ERRORS[403]},
                   extensions=RULE_REFUSALS)
    def create(self, request):
        body = ApplicationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        application = svc.application_create(actor=self.actor, **body.validated_data)
        self.kwargs["pk"] = application.pk
        location = reverse("api:application-detail", args=[application.pk])
        return self._detail(self.get_application(), status.HTTP_201_CREATED, {"Location": location})

    @extend_schema(summary="修改草稿（If-Match 填写读取时的 ETag；form_data 按键合并，null 删除该键）",
                   request=ApplicationEditSerializer, parameters=[IF_MATCH],
                   responses={200: ApplicationDetailSerializer, **ERRORS,
                              409: OpenApiResponse(ErrorSerializer, description="草稿在此期间已被修改（未保存）"),
                              428: OpenApiResponse(ErrorSerializer, description="未提供 If-Match")},
                   extensions=RULE_REFUSALS)
    def partial_update(self, request, pk=None):
        body = ApplicationEditSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        if "form_data" in fields:
            fields["form_data_patch"] = fields.pop("form_data")
        version = drafts.IfMatch(request.headers.get("If-Match"))  # read by the service after its checks
        svc.application_edit(actor=self.actor, application_id=int(pk), expected_version=version, **fields)
        return self._detail(self.get_application())

    # --- history

    @extend_schema(summary="已冻结的各版本", responses={200: RevisionSerializer(many=True), 404: ERRORS[404]})
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def revisions(self, request, pk=None):
        application = self.get_application()
        context = {**self.get_serializer_context(), "application": application}
        return Response(RevisionSerializer(application.revisions.order_by("number"), many=True, context=context).data)

    @extend_schema(
        summary="两个版本之间的差异", parameters=[RevisionDiffQuerySerializer],
        responses={200: RevisionChangeSerializer(many=True), 400: ERRORS[400], 404: ERRORS[404]},
    )
    @action(detail=True, methods=["get"], url_path="revisions/diff", url_name="revision-diff",
            pagination_class=None, filterset_class=None)
    def revision_diff(self, request, pk=None):
        query = RevisionDiffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        application = self.get_application()
        try:
            changes = selectors.revision_diff(application=application, **query.validated_data)
        except Revision.DoesNotExist:
            raise E.NotFound(MSG_REVISION_NOT_FOUND) from None
        if not access.personal_data_in_full(principal_of(request.user), application):
            changes = masking.mask_changes(application.program.form_fields, changes)
        return Response(RevisionChangeSerializer(changes, many=True).data)

    @extend_schema(summary="各级审核意见", responses={200: OpinionSerializer(many=True), 404: ERRORS[404]})
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def opinions(self, request, pk=None):
        opinions = selectors.application_opinions(application=self.get_application())
        return Response(OpinionSerializer(opinions, many=True).data)

    @extend_schema(summary="办理记录（审计链）", responses={200: EventSerializer(many=True), 404: ERRORS[404]})
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def events(self, request, pk=None):
        events = selectors.application_events(user=request.user, application=self.get_application())
        return Response(EventSerializer(events, many=True).data)

    # --- experts and documents

    @extend_schema(summary="可指派的评审专家（本省在任专家；省级科协审核人）",
                   responses={200: PersonSerializer(many=True), 403: ERRORS[403], 404: ERRORS[404]})
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def experts(self, request, pk=None):
        application = self.get_application()
        if not access.may_choose_experts(principal_of(request.user), application):
            raise E.NotAllowed(MSG_EXPERTS_FORBIDDEN)
        experts = svc.experts_assignable(province_id=application.province_id).order_by("pk")
        return Response(PersonSerializer([_person(user) for user in experts], many=True).data)

    @extend_schema(summary="证书 PDF", responses={(200, "application/pdf"): OpenApiTypes.BINARY, 404: ERRORS[404]})
    @action(detail=True, methods=["get"], url_path="certificate-pdf", url_name="certificate-pdf",
            content_negotiation_class=IgnoreAcceptNegotiation, pagination_class=None, filterset_class=None)
    def certificate_pdf(self, request, pk=None):
        certificate = getattr(self.get_application(), "certificate", None)
        if certificate is None:
            raise E.NotFound(MSG_NO_CERTIFICATE)
        # The printing view renders or restores the stored file (and asks approvals.access again).
        return CertificatePdfView.as_view()(request._request, pk=certificate.pk)

    @extend_schema(summary="申报书 PDF（当前版本，或 ?revision= 某一冻结版本）", parameters=[FormPdfQuerySerializer],
                   responses={(200, "application/pdf"): OpenApiTypes.BINARY,
                              202: OpenApiResponse(FormPdfPendingSerializer,
                                                   description="篇幅较大，正在后台生成：按 Retry-After 秒后再取"),
                              400: ERRORS[400], 404: ERRORS[404],
                              503: OpenApiResponse(ErrorSerializer, description="后台生成失败")})
    @action(detail=True, methods=["get"], url_path="form-pdf", url_name="form-pdf",
            content_negotiation_class=IgnoreAcceptNegotiation, pagination_class=None, filterset_class=None)
    def form_pdf(self, request, pk=None):
        FormPdfQuerySerializer(data=request.query_params).is_valid(raise_exception=True)
        application = self.get_application()
        response = ApplicationFormPdfView.as_view()(request._request, pk=application.pk)
        if response.status_code == status.HTTP_202_ACCEPTED:  # the worker renders it: come back later
            return Response({"status": "rendering", "retry_after": 3}, status=202, headers={"Retry-After": "3"})
        if response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
            return Response(error_body("render_failed", MSG_RENDER_FAILED), status=503)
        return response

    # --- attachments

    @extend_schema(methods=["GET"], summary="附件（含已移除的，见 removed_in）",
                   responses={200: AttachmentSerializer(many=True), 404: ERRORS[404]})
    @extend_schema(methods=["POST"], summary="上传附件（仅草稿，multipart）", request=AttachmentUploadSerializer,
                   responses={201: AttachmentSerializer, **ERRORS}, extensions=RULE_REFUSALS)
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser],
            pagination_class=None, filterset_class=None, serializer_class=AttachmentUploadSerializer)
    def attachments(self, request, pk=None):
        if request.method == "POST":
            return self._attachment_upload(request, int(pk))
        application = self.get_application()
        attachments = application.attachments.select_related("uploaded_by").order_by("kind", "uploaded_at", "pk")
        return Response(AttachmentSerializer(attachments, many=True, context=self.get_serializer_context()).data)

    def _attachment_upload(self, request, application_id: int) -> Response:
        body = AttachmentUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        # Refuse an oversized file before reading it into memory; the service checks the same limit.
        if upload.size > svc.ATTACHMENT_MAX_BYTES:
            raise E.InvalidInput(E.MSG_ATTACHMENT_SIZE, name=upload.name,
                                 limit=svc.ATTACHMENT_MAX_BYTES // (1024 * 1024))
        attachment = svc.attachment_add(actor=self.actor, application_id=application_id,
                                        kind=body.validated_data["kind"], name=upload.name, content=upload.read())
        data = AttachmentSerializer(attachment, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)

    def _attachment(self, attachment_id) -> Attachment:
        application = self.get_application()
        attachment = (
            Attachment.objects.filter(application=application, pk=int(attachment_id))
            .select_related("uploaded_by").first()
        )
        if attachment is None:
            raise E.NotFound(MSG_ATTACHMENT_NOT_FOUND)
        return attachment

    @extend_schema(summary="移除附件（仅草稿；已冻结版本中的文件保留）", request=None,
                   responses={204: None, **ERRORS})
    @action(detail=True, methods=["delete"], url_path=r"attachments/(?P<attachment_id>\d+)",
            url_name="attachment-detail", pagination_class=None, filterset_class=None)
    def attachment_remove(self, request, pk=None, attachment_id=None):
        attachment = self._attachment(attachment_id)
        svc.attachment_remove(actor=self.actor, attachment_id=attachment.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="下载附件", responses={(200, "application/octet-stream"): OpenApiTypes.BINARY,
                                                 404: ERRORS[404]})
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_id>\d+)/download",
            url_name="attachment-download", content_negotiation_class=IgnoreAcceptNegotiation,
            pagination_class=None, filterset_class=None)
    def attachment_download(self, request, pk=None, attachment_id=None):
        attachment = self._attachment(attachment_id)
        try:
            content = read_file(attachment)
        except FileNotFoundError:
            logger.error("attachment %s of application %s: stored file is missing", attachment.pk, pk)
            raise E.NotFound(MSG_FILE_MISSING) from None
        response = FileResponse(io.BytesIO(content), as_attachment=True, filename=attachment.original_name,
                                content_type=attachment.content_type)
        response["X-Content-SHA256"] = attachment.sha256
        return response


# ------------------------------------------------------------------------------------------ the schema

# The answers any operation can give besides its own, in the error shape (drf-spectacular's postprocessing
# hook, SPECTACULAR_SETTINGS): what the server really answers, so that a client (and schemathesis) finds
# every status it can meet in the schema.
COMMON_ANSWERS = {
    400: "请求内容或查询参数有误（含 JSON 解析、编码、嵌套层数、重复键）",
    401: "未登录，或令牌无效、已过期",
    403: "无权执行（含：会话未完成双因素认证、只读令牌、无 CSRF 的会话写请求）",
    404: "对象不存在或不在权限范围内，地址中的编号格式不对，或页码超出范围",
    413: "请求体过大",
    415: "请求的 Content-Type 不受支持",
}


# Query parameters and headers as the server checks them (IntegerFilter, IdField, drafts.IfMatch, CharFilter).
ID_RANGE = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
PARAMETER_SCHEMAS = {
    ("query", "batch"): ID_RANGE, ("query", "city"): ID_RANGE, ("query", "province"): ID_RANGE,
    ("query", "parent"): ID_RANGE, ("query", "year"): {"type": "integer", "minimum": 1900, "maximum": 2999},
    ("query", "page"): {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    ("header", "If-Match"): {"type": "string", "pattern": r'^"[0-9]{1,10}"$'},
    # django-filter's text filters refuse a NUL character (400 naming the parameter), as CharField does.
    ("query", "program"): {"type": "string", "pattern": TEXT_PATTERN},
    ("query", "search"): {"type": "string", "pattern": TEXT_PATTERN},
}


def schema_common_answers(result, generator, request, public):
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    # The token request's fields (DRF's AuthTokenSerializer): user name and password may not be blank.
    schemas = result.get("components", {}).get("schemas", {})
    token = schemas.get("TokenRequestRequest", schemas.get("TokenRequest", {})).get("properties", {})
    for name in ("username", "password"):
        if name in token:
            token[name].update(minLength=1, pattern=TEXT_PATTERN)
    if "otp" in token:
        token["otp"]["pattern"] = TEXT_PATTERN
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            parameters = operation.get("parameters", [])
            for parameter in parameters:
                known = PARAMETER_SCHEMAS.get((parameter.get("in"), parameter.get("name")))
                if known is not None:
                    parameter["schema"] = {**known}
                choices = parameter.get("schema", {}).get("enum")
                if parameter.get("in") == "query" and choices and "" not in choices:
                    parameter["schema"]["enum"] = [*choices, ""]  # empty: not filtered (django-filter)
            query = any(p.get("in") == "query" for p in parameters)
            body = "requestBody" in operation or method in ("post", "patch", "put")
            secured = bool(operation.get("security")) and {} not in operation["security"]
            codes = []
            if body or query:
                codes.append(400)
            if secured:
                codes += [401, 403]
            if "{" in path or query:
                codes.append(404)
            if body:
                codes += [413, 415]
            for code in codes:
                responses.setdefault(str(code), {**error, "description": str(COMMON_ANSWERS[code])})
    return result
