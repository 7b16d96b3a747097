"""Typed errors of the approval services; their messages are constants that tests import."""
from django.utils.translation import gettext_lazy as _

# Messages (format with keyword arguments where they have placeholders).
MSG_NOT_FOUND = _("申报不存在或不在您的权限范围内")
MSG_NOT_ALLOWED = _("您没有在当前环节执行“%(action)s”的权限")
MSG_WRONG_STATE = _("申报当前状态为“%(status)s”，不能执行“%(action)s”，可能已被他人处理，请刷新后重试")
MSG_INVALID_ACTION = _("没有这项操作")
MSG_RECTIFICATION_REQUIRED = _("请填写整改报告")
MSG_REPORT_INVALID = _("年度报告内容有误")
MSG_REPORT_NOT_FOUND = _("年度报告不存在或不在您的权限范围内")
MSG_REPORT_WRONG_STATE = _("年度报告当前状态为“%(status)s”，不能执行“%(action)s”，可能已被他人处理，请刷新后重试")
MSG_REPORT_WINDOW_EXISTS = _("%(province)s %(year)s 年度的报告填报已开启，不能重复开启")
MSG_REPORT_WINDOW_DUE = _("报送截止日期应晚于今天（%(today)s）")
MSG_REASON_REQUIRED = _("请填写退回理由")
MSG_RENEWAL_INVALID = _("续期申请内容有误")
MSG_RENEWAL_NOT_FOUND = _("续期申请不存在或不在您的权限范围内")
MSG_RENEWAL_WRONG_STATE = _("续期申请当前状态为“%(status)s”，不能执行“%(action)s”，可能已被他人处理，请刷新后重试")
MSG_RENEWAL_NOT_IN_FORCE = _("授牌当前状态为“%(status)s”或已过有效期，不能批准续期")
MSG_CASE_NOT_FOUND = _("该事项不存在或不在您的权限范围内")
MSG_CASE_WRONG_STATE = _("该事项当前状态为“%(status)s”，不能执行“%(action)s”，可能已被他人处理，请刷新后重试")
MSG_GRADE_REQUIRED = _("请选择评定等次（优秀、良好、合格、不合格）")
MSG_EXPERT_SCORE = _("专家评分应为 0 到 100 之间的数，最多一位小数")
MSG_CONFLICT = _("该申报正被他人同时处理，请刷新后重试")
MSG_WINDOW_CLOSED = _("不在本批次申报时间内（%(opens)s 至 %(closes)s）")
MSG_QUOTA_EXCEEDED = _("本批次推荐名额已用完（%(used)d/%(quota)d）")
MSG_NO_QUOTA = _("本批次未给 %(city)s 分配推荐名额")
MSG_THRESHOLD = _("未达到申报条件“%(rule)s”：要求至少 %(required)s，实际 %(actual)s")
MSG_BANNED = _("申报主体“%(name)s”因“%(reason)s”在 %(until)s 前不得申报")
MSG_USCC_INVALID = _("统一社会信用代码“%(value)s”无效")
MSG_USCC_REQUIRED = _("请填写统一社会信用代码")
MSG_DIVISION_OUTSIDE = _("所在区划 %(code)s 不在申报单位 %(org)s 的辖区内")
MSG_PROGRAM_LEVEL = _("“%(program)s”须由%(level)s科协申报")
MSG_BATCH_PROGRAM = _("批次“%(batch)s”不属于“%(program)s”")
MSG_BATCH_PROVINCE = _("批次“%(batch)s”不是本省的批次")
MSG_OPINION_REQUIRED = _("请填写意见")
MSG_ATTACHMENTS_MISSING = _("缺少必备附件：%(kinds)s")
MSG_ATTACHMENT_TYPE = _("附件“%(name)s”的内容不是允许的格式（PDF、JPEG、PNG、DOCX、XLSX）")
MSG_ATTACHMENT_SIZE = _("附件“%(name)s”超过大小上限 %(limit)d MB")
MSG_ATTACHMENT_KIND = _("未知的附件类型“%(kind)s”")
MSG_EXPERTS_REQUIRED = _("请至少指派 %(min)d 名评审专家")
MSG_NOT_EXPERT = _("%(user)s 不是本省的评审专家")
MSG_SCORE_RANGE = _("评分应在 0 到 100 之间")
MSG_ALREADY_SCORED = _("您已提交过评分")
MSG_NOTICE_NOT_OVER = _("公示期至 %(end)s 结束，结束前不能认定")
MSG_NOTICE_PUBLISHED = _("公示已于 %(start)s 发布（至 %(end)s），不能重复发布")
MSG_NOTICE_NOT_PUBLISHED = _("公示尚未发布")
MSG_EXPERTS_ASSIGNED = _("本版本已指派评审专家，不能重复指派")
MSG_SUBJECT_REQUIRED = _("请填写申报主体名称")
MSG_FORM_INVALID = _("申报内容有误")
MSG_CANNOT_EDIT = _("只有草稿状态的申报可以修改")
MSG_STALE = _("保存未成功：您打开这份草稿之后，它已被修改（%(changes)s）。您这次填写的内容没有保存，也没有丢失，"
              "请核对标出的项目后再保存。")
MSG_VERSION_UNKNOWN = _("保存未成功：所依据的版本 %(version)s 不存在（当前为 %(current)s），请刷新后重试")
MSG_VERSION_REQUIRED = _("修改草稿须说明所依据的版本：请在 If-Match 请求头中填写读取该申报时得到的 ETag")
MSG_VERSION_INVALID = _("If-Match 请求头“%(value)s”不是本系统的版本标记（应为读取申报时得到的 ETag，如 \"12\"）")
MSG_NOTICE_START = _("公示开始日期应为今天起至 %(last)s 之间的工作日（最早 %(first)s）")
MSG_COMMENT_LENGTH = _("意见不能超过 %(max)d 字")
MSG_DUPLICATE_USCC = _("统一社会信用代码 %(uscc)s 在本批次已有申报“%(name)s”（编号 %(id)s，%(status)s），同一主体每批次只能有一份在办申报")
MSG_DUPLICATE_DIVISION = _("%(division)s 在本批次已有申报“%(name)s”（编号 %(id)s，%(status)s），同一主体每批次只能有一份在办申报")
MSG_UNPRINTABLE = _("含有无法打印的字符 %(chars)s（打印字体中没有这个字），请改用其他写法")
MSG_TOO_MANY_ROWS = _("最多 %(max)d 行，现有 %(count)d 行")
MSG_FORM_TOO_LONG = _("申报内容合计不能超过 %(max)d 字，现有 %(count)d 字，请精简或改为附件上传")
MSG_REQUEST_TOO_LARGE = _("提交的内容超过 %(max)d MB，无法受理：申报内容请精简或改为附件上传")


class ApprovalError(Exception):
    """Base of every refused action; nothing was changed when it is raised."""

    code = "error"
    http_status = 400

    def __init__(self, message, *, errors: dict | None = None, **params):
        self.message_template = message
        self.params = params
        self.errors = errors or {}
        super().__init__(str(self.message))

    @property
    def message(self) -> str:
        text = str(self.message_template)
        return text % self.params if self.params else text


class NotFound(ApprovalError):
    code, http_status = "not_found", 404


class NotAllowed(ApprovalError):
    code, http_status = "not_allowed", 403


class WrongState(ApprovalError):
    code, http_status = "conflict", 409


class Conflict(ApprovalError):
    code, http_status = "conflict", 409


class StaleVersion(ApprovalError):
    """The draft changed since the version the edit was made on."""

    code, http_status = "stale", 409


class VersionRequired(ApprovalError):
    code, http_status = "version_required", 428


class RuleViolation(ApprovalError):
    """Window, quota, threshold or ban list refused the action."""

    code, http_status = "rule", 400


class QuotaExceeded(RuleViolation):
    code, http_status = "quota", 409


class InvalidInput(ApprovalError):
    code, http_status = "invalid", 400
