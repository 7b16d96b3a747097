"""Administrative divisions (GB/T 2260), the organization tree, role memberships and delegations (代办)."""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    NATIONAL = "national", _("全国")
    PROVINCE = "province", _("省级")
    CITY = "city", _("市级")
    COUNTY = "county", _("县级")


# Depth of each level in the tree; the national root is 0.
LEVEL_DEPTH = {Level.NATIONAL: 0, Level.PROVINCE: 1, Level.CITY: 2, Level.COUNTY: 3}


class DivisionKind(models.TextChoices):
    ADMIN = "admin", _("行政区划")
    # Development zones, new areas and parks: statistical codes, not GB/T 2260 divisions, but they have a
    # 科协 of their own (园区科协) that takes part in the chains at county level.
    FUNCTIONAL = "functional", _("功能区（开发区、园区）")


class DivisionQuerySet(models.QuerySet):
    def gbt2260(self):
        """Active divisions of the GB/T 2260 table: functional areas are not among them."""
        return self.filter(active=True, kind=DivisionKind.ADMIN)

    def subject_choices(self, *, applicant):
        """The divisions an applicant's subject may be located in: GB/T 2260 divisions within the
        applicant's own (its province, city or county); a functional area's 科协 takes the counties of its
        city.
        One query, whatever the applicant."""
        code = applicant.division_id or ""
        prefix = {Level.PROVINCE: 2, Level.CITY: 4}.get(applicant.level, 6)
        within = models.Q(code__startswith=code[:prefix])
        if prefix == 6:
            functional = type(self)(self.model).filter(code=code, kind=DivisionKind.FUNCTIONAL)
            within |= models.Q(code__startswith=code[:4], level=Level.COUNTY) & models.Exists(functional)
        return self.gbt2260().filter(within)


class Division(models.Model):
    code = models.CharField(_("区划代码"), max_length=6, primary_key=True)
    name = models.CharField(_("名称"), max_length=64, db_index=True)
    level = models.CharField(_("级别"), max_length=16, choices=Level.choices)
    kind = models.CharField(_("类型"), max_length=16, choices=DivisionKind.choices, default=DivisionKind.ADMIN)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级区划"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    active = models.BooleanField(_("有效"), default=True)

    objects = DivisionQuerySet.as_manager()

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class OrgKind(models.TextChoices):
    KEXIE = "kexie", _("科学技术协会")
    SOCIETY = "society", _("学会")


class Organization(models.Model):
    """A 科协 of a division or a society; `path` makes 'everything under X' one prefix query."""

    name = models.CharField(_("名称"), max_length=128, db_index=True)
    kind = models.CharField(_("类型"), max_length=16, choices=OrgKind.choices, default=OrgKind.KEXIE)
    level = models.CharField(_("级别"), max_length=16, choices=Level.choices)
    division = models.ForeignKey(
        Division, verbose_name=_("行政区划"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="organizations",
    )
    parent = models.ForeignKey(
        "self", verbose_name=_("上级组织"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # "/1/7/42/": the ids from the root down to this organization, each followed by "/".
    path = models.CharField(_("树路径"), max_length=255, editable=False, db_index=True, default="")
    active = models.BooleanField(_("有效"), default=True)

    class Meta:
        verbose_name = _("组织")
        verbose_name_plural = _("组织")
        ordering = ["path"]
        indexes = [
            # LIKE 'prefix%' on PostgreSQL needs the pattern operator class to use an index.
            models.Index(fields=["path"], name="org_path_prefix_idx", opclasses=["varchar_pattern_ops"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["division"], condition=Q(kind="kexie"), name="one_kexie_per_division"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        path = (self.parent.path if self.parent_id else "/") + f"{self.pk}/"
        if path != self.path:
            old_path, self.path = self.path, path
            manager = type(self).objects
            manager.filter(pk=self.pk).update(path=path)
            if old_path:
                # Moved: every descendant's path starts with the old one; rewrite the prefix in one UPDATE.
                manager.filter(path__startswith=old_path).exclude(pk=self.pk).update(
                    path=Concat(Value(path), Substr("path", len(old_path) + 1))
                )

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to and including this organization, read from the path."""
        return [int(part) for part in self.path.strip("/").split("/") if part]

    def is_under(self, other: "Organization") -> bool:
        """True when this organization is `other` or lies below it."""
        return self.path.startswith(other.path)



class Role(models.TextChoices):
    CLERK = "clerk", _("经办人")
    LEADER = "leader", _("负责人")
    REVIEWER = "reviewer", _("审核人")
    EXPERT = "expert", _("评审专家")
    # 三员分立 (docs/security.md): the system administrator (管理员), the security administrator and the
    # auditor (the audit administrator); no one holds two of them (Membership.clean).
    ADMIN = "admin", _("管理员")
    AUDITOR = "auditor", _("审计员")
    SECURITY_ADMIN = "secadmin", _("安全管理员")


ADMINISTRATOR_ROLES = (Role.ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR)


class MembershipQuerySet(models.QuerySet):
    def current(self, on=None):
        """Memberships valid on the given date (today by default)."""
        on = on or timezone.localdate()
        return self.filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=on),
            Q(valid_until__isnull=True) | Q(valid_until__gte=on),
        )


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, verbose_name=_("组织"), on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("角色"), max_length=16, choices=Role.choices)
    valid_from = models.DateField(_("生效日期"), null=True, blank=True)
    valid_until = models.DateField(_("截止日期"), null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("成员角色")
        verbose_name_plural = _("成员角色")
        constraints = [
            models.UniqueConstraint(fields=["user", "organization", "role"], name="unique_membership"),
        ]
        indexes = [models.Index(fields=["organization", "role"], name="membership_org_role_idx")]

    def __str__(self) -> str:
        return f"{self.user} · {self.organization} · {self.get_role_display()}"

    def clean(self):
        """三员分立: the system administrator, security administrator and auditor roles exclude each other,
        at any organization."""
        super().clean()
        if self.role not in ADMINISTRATOR_ROLES or not self.user_id:
            return
        other = (Membership.objects.filter(user_id=self.user_id, role__in=ADMINISTRATOR_ROLES)
                 .exclude(role=self.role).exclude(pk=self.pk).first())
        if other is not None:
            raise ValidationError({"role": _("三员分立：该用户已担任%(other)s，不能再担任%(role)s") % {
                "other": other.get_role_display(), "role": self.get_role_display()}})


class DelegationQuerySet(models.QuerySet):
    def active(self, on=None):
        """Delegations in force on a date (today by default): computed at query time, so they end alone."""
        on = on or timezone.localdate()
        return self.filter(cancelled_at__isnull=True, starts_on__lte=on, ends_on__gte=on)


class Delegation(models.Model):
    """代办: while in force, `delegate` acts for `delegator` in `organization` with `role`."""

    delegator = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("委托人"), on_delete=models.PROTECT, related_name="delegations_given"
    )
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("代办人"), on_delete=models.PROTECT,
        related_name="delegations_received",
    )
    organization = models.ForeignKey(Organization, verbose_name=_("组织"), on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("角色"), max_length=16, choices=Role.choices)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    reason = models.TextField(_("事由"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    cancelled_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = DelegationQuerySet.as_manager()

    class Meta:
        # The table kept its name when the model moved here from workflows.
        db_table = "workflows_delegation"
        verbose_name = _("代办授权")
        verbose_name_plural = _("代办授权")
        ordering = ["-starts_on", "-id"]
        indexes = [
            models.Index(fields=["delegate", "ends_on"], name="delegation_delegate_idx"),
            models.Index(fields=["organization", "role", "ends_on"], name="delegation_pool_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="delegation_period"),
            models.CheckConstraint(condition=~Q(delegate=models.F("delegator")), name="delegation_not_to_self"),
        ]

    def __str__(self) -> str:
        return f"{self.delegate} 代 {self.delegator}（{self.organization} {self.get_role_display()}）"
