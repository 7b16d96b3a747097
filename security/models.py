"""The security log (docs/security.md): one append-only SHA-256 chain of security events (logins, failed
logins, lockouts, permission, role, membership and delegation changes, API tokens, exports), separate from
the applications' audit chains. `SecurityChainHead` is the single row that serialises writers and holds the
chain's last sequence number and hash, so a truncated tail is detected as well as an edited event."""
import datetime as dt
import hashlib
import json

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS = "0" * 64


class Kind(models.TextChoices):
    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOGOUT = "logout", _("退出登录")
    LOCKOUT = "lockout", _("账户锁定")
    PASSWORD_CHANGED = "password_changed", _("修改密码")
    USER_CREATED = "user_created", _("新建用户")
    USER_DELETED = "user_deleted", _("删除用户")
    PRIVILEGE_CHANGED = "privilege_changed", _("管理权限变更")
    PERMISSION_CHANGED = "permission_changed", _("权限变更")
    GROUP_CHANGED = "group_changed", _("用户组变更")
    MEMBERSHIP_CHANGED = "membership_changed", _("成员角色变更")
    DELEGATION_CHANGED = "delegation_changed", _("代办授权变更")
    TOKEN_ISSUED = "token_issued", _("签发 API 令牌")
    TOKEN_REVOKED = "token_revoked", _("撤销 API 令牌")
    EXPORT = "export", _("导出")
    TWO_FACTOR_ENROLLED = "2fa_enrolled", _("启用双因素认证")
    TWO_FACTOR_VERIFIED = "2fa_verified", _("双因素认证通过")
    TWO_FACTOR_FAILED = "2fa_failed", _("双因素认证失败")
    RECOVERY_CODE_USED = "2fa_recovery_used", _("使用恢复码")
    RECOVERY_CODES_ISSUED = "2fa_recovery_issued", _("生成恢复码")
    TWO_FACTOR_RESET = "2fa_reset", _("重置双因素认证")
    TOKEN_EXPIRED = "token_expired", _("API 令牌过期")
    ADMIN_EDIT = "admin_edit", _("管理后台操作")
    LOG_PURGED = "log_purged", _("清除过期安全日志")


class SecurityChainHead(models.Model):
    """The one row (pk 1) locked by every writer: the chain's length and last hash."""

    seq = models.PositiveBigIntegerField(default=0)
    head = models.CharField(max_length=64, default=GENESIS)

    class Meta:
        verbose_name = _("安全日志链头")
        verbose_name_plural = _("安全日志链头")

    def __str__(self) -> str:
        return f"#{self.seq} {self.head[:12]}"


class SecurityEvent(models.Model):
    """Append-only; every event's hash covers its fields and the previous event's hash (`compute_hash`)."""

    seq = models.PositiveBigIntegerField(_("序号"), unique=True)
    created_at = models.DateTimeField(_("时间"))
    kind = models.CharField(_("类型"), max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+", db_constraint=False)
    # Kept as text as well: the chain must verify after a user row is gone, and a failed login has no user.
    username = models.CharField(_("用户名"), max_length=150, blank=True)
    client_ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    target = models.CharField(_("对象"), max_length=255, blank=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("安全日志")
        verbose_name_plural = _("安全日志")
        ordering = ["seq"]
        # The log page's filters (security.selectors.security_events), each newest first.
        indexes = [models.Index(fields=["created_at"], name="security_event_created_idx"),
                   models.Index(fields=["kind", "created_at"], name="security_event_kind_idx"),
                   models.Index(fields=["username", "created_at"], name="security_event_user_idx")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} {self.username}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("security events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("security events are append-only")

    def payload(self) -> str:
        # actor_id is left out: it is nulled when the user row is deleted; the user name stays.
        return json.dumps(
            [self.seq, self.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"), self.kind,
             self.username, self.client_ip, self.target, self.detail, self.prev_hash],
            ensure_ascii=False, separators=(",", ":"), sort_keys=True,
        )

    def compute_hash(self) -> str:
        return hashlib.sha256(self.payload().encode("utf-8")).hexdigest()


class SecurityLogAnchor(models.Model):
    """Where the chain starts after a purge of old events (security.tasks.security_log_purge): the last
    purged event's sequence number and hash, which the first kept event links. The same pair is signed as
    row 1 of a security digest before anything is deleted (`digest_number`), so that the start cannot be
    moved without the signing key. One row per purge; the latest is the start."""

    seq = models.PositiveBigIntegerField(_("清除至第几条"), unique=True)
    hash = models.CharField(max_length=64)
    purged_at = models.DateTimeField(_("清除时间"))
    digest_number = models.PositiveIntegerField(_("签名摘要编号"))

    class Meta:
        verbose_name = _("安全日志起点")
        verbose_name_plural = _("安全日志起点")
        ordering = ["-seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"


class PasswordHistory(models.Model):
    """A password hash a user had before a change, for the reuse check (security.validators)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    password = models.CharField(max_length=128)
    replaced_at = models.DateTimeField()

    class Meta:
        verbose_name = _("历史密码")
        verbose_name_plural = _("历史密码")
        ordering = ["-replaced_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.replaced_at:%Y-%m-%d}"


class TokenScope(models.TextChoices):
    READ = "read", _("只读")
    WRITE = "write", _("读写")


class TokenPolicy(models.Model):
    """The scope of a DRF token (rest_framework.authtoken): a read token may only read. Its expiry is the
    token's `created` plus API_TOKEN_MAX_AGE_HOURS (security.api_policy)."""

    token = models.OneToOneField("authtoken.Token", on_delete=models.CASCADE, primary_key=True,
                                 related_name="security_policy")
    scope = models.CharField(_("范围"), max_length=8, choices=TokenScope.choices, default=TokenScope.WRITE)

    class Meta:
        verbose_name = _("API 令牌范围")
        verbose_name_plural = _("API 令牌范围")

    def __str__(self) -> str:
        return f"{self.token_id[:6]}… {self.scope}"


class PasswordState(models.Model):
    """Whether the holder must choose a new password at the next login (an account made or a password set
    by someone else: an administrator, the demo seed), and when the holder last changed it (for the
    optional expiry, PASSWORD_MAX_AGE_DAYS). No row: no change required, the account's creation counts as
    the last change (security.passwords)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="+")
    must_change = models.BooleanField(_("须修改密码"), default=False)
    changed_at = models.DateTimeField(_("最近修改密码"), null=True, blank=True)

    class Meta:
        verbose_name = _("密码状态")
        verbose_name_plural = _("密码状态")

    def __str__(self) -> str:
        return str(self.user_id)
