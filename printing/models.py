"""Certificates with gap-free numbers per (province, program, year) and public verification tokens."""
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CertificateSequence(models.Model):
    """The last number given out for one (province, program, year); locked while a number is taken, so a
    rolled-back issue gives its number back and numbers stay gap-free."""

    province = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey("approvals.Program", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("证书编号序列")
        verbose_name_plural = _("证书编号序列")
        constraints = [
            models.UniqueConstraint(fields=["province", "program", "year"], name="one_sequence_per_year")
        ]

    def __str__(self) -> str:
        return f"{self.province_id}/{self.program_id}/{self.year}: {self.last}"


class CertificateStatus(models.TextChoices):
    VALID = "valid", _("有效")
    REVOKED = "revoked", _("已撤销")
    EXPIRED = "expired", _("已过期")


class Certificate(models.Model):
    application = models.OneToOneField(
        "approvals.Application", verbose_name=_("申报"), on_delete=models.PROTECT, related_name="certificate"
    )
    sequence = models.ForeignKey(CertificateSequence, on_delete=models.PROTECT, related_name="certificates")
    seq = models.PositiveIntegerField(_("序号"))
    number = models.CharField(_("证书编号"), max_length=64, unique=True)
    awardee_name = models.CharField(_("授牌名称"), max_length=255)
    valid_from = models.DateField(_("有效期起"))
    valid_until = models.DateField(_("有效期止"))
    issued_on = models.DateField(_("发证日期"), default=timezone.localdate)
    status = models.CharField(_("状态"), max_length=16, choices=CertificateStatus.choices,
                              default=CertificateStatus.VALID)
    token = models.CharField(_("核验码"), max_length=43, unique=True)
    pdf_sha256 = models.CharField(_("PDF 的 SHA-256"), max_length=64, blank=True)
    pdf_size = models.PositiveIntegerField(null=True, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("证书")
        verbose_name_plural = _("证书")
        ordering = ["-issued_on", "number"]
        constraints = [models.UniqueConstraint(fields=["sequence", "seq"], name="gap_free_certificate_seq")]

    def __str__(self) -> str:
        return self.number


class IssueRun(models.Model):
    """A bulk issue of a batch's approved applications by a provincial officer: which applications were
    queued, so its progress can be shown while the workers issue them."""

    batch = models.ForeignKey("approvals.Batch", verbose_name=_("批次"), on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发起人"), on_delete=models.PROTECT,
                                     related_name="+")
    application_ids = models.JSONField(_("申报"), default=list)
    created_at = models.DateTimeField(_("发起时间"), default=timezone.now)

    class Meta:
        verbose_name = _("批量颁证")
        verbose_name_plural = _("批量颁证")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.batch_id}: {len(self.application_ids)}"
