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
    RENEWED = "renewed", _("已续期")


class Certificate(models.Model):
    # The application's certificate in force (its latest); a certificate that was renewed (已续期) is no
    # longer the application's: it keeps `issued_for` and links to its successor (`renewed_by`).
    application = models.OneToOneField(
        "approvals.Application", verbose_name=_("申报"), on_delete=models.PROTECT, related_name="certificate",
        null=True, blank=True,
    )
    issued_for = models.ForeignKey(
        "approvals.Application", verbose_name=_("申报"), on_delete=models.PROTECT, related_name="certificates"
    )
    renewed_by = models.OneToOneField("self", verbose_name=_("续期后的证书"), null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="renews")
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
    # The PAdES signature of the stored PDF: who signed it and when (empty for an unsigned PDF).
    signed_by = models.CharField(_("签名者"), max_length=255, blank=True)
    signed_at = models.DateTimeField(_("签名时间"), null=True, blank=True)

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


class OrganizationProfile(models.Model):
    """What an organization's letters and notices print about it: the prefix of its 发文字号, the contact
    given for questions and objections, and the picture of its electronic seal (a PNG with a transparent
    background, drawn where the stamp goes on the documents it signs)."""

    organization = models.OneToOneField("orgs.Organization", verbose_name=_("组织"), on_delete=models.CASCADE,
                                        related_name="print_profile")
    document_prefix = models.CharField(_("发文字号前缀"), max_length=32, blank=True,
                                       help_text=_("例如：皖科协函；留空时按区划名称生成"))
    contact_person = models.CharField(_("联系人"), max_length=64, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    contact_address = models.CharField(_("通讯地址"), max_length=200, blank=True)
    postal_code = models.CharField(_("邮政编码"), max_length=6, blank=True)
    seal_image = models.BinaryField(_("电子印章图片（PNG）"), blank=True, default=b"", editable=True)

    class Meta:
        verbose_name = _("文书设置")
        verbose_name_plural = _("文书设置")

    def __str__(self) -> str:
        return str(self.organization_id)


class DocumentSequence(models.Model):
    """The last 发文字号 number an organization gave out in a year (locked while a number is taken)."""

    organization = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("发文字号序列")
        verbose_name_plural = _("发文字号序列")
        constraints = [models.UniqueConstraint(fields=["organization", "year"], name="one_document_sequence_per_year")]

    def __str__(self) -> str:
        return f"{self.organization_id}/{self.year}: {self.last}"


class DocumentKind(models.TextChoices):
    RECOMMENDATION_LETTER = "recommendation_letter", _("推荐函")
    NOTICE = "notice", _("公示")


class IssuedDocument(models.Model):
    """A letter or notice as first issued: its 发文字号 and 成文日期 stay the same on every later print."""

    organization = models.ForeignKey("orgs.Organization", verbose_name=_("发文机关"), on_delete=models.PROTECT,
                                     related_name="+")
    kind = models.CharField(_("文书类型"), max_length=32, choices=DocumentKind.choices)
    batch = models.ForeignKey("approvals.Batch", verbose_name=_("批次"), on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    seq = models.PositiveIntegerField(_("序号"))
    number = models.CharField(_("发文字号"), max_length=64)
    dated = models.DateField(_("成文日期"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("发文登记")
        verbose_name_plural = _("发文登记")
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind", "batch"], name="one_document_per_batch"),
            models.UniqueConstraint(fields=["organization", "year", "seq"], name="gap_free_document_seq"),
        ]

    def __str__(self) -> str:
        return self.number


class SigningKey(models.Model):
    """An organization's signing certificate and its private key. The key is kept only encrypted
    (PKCS#8 with a passphrase from the SIGNING_KEY_PASSPHRASE setting, never in the database), so a copy
    of the database alone cannot sign anything."""

    organization = models.ForeignKey("orgs.Organization", verbose_name=_("组织"), on_delete=models.PROTECT,
                                     related_name="signing_keys")
    certificate_pem = models.TextField(_("签名证书（PEM）"))
    chain_pem = models.TextField(_("证书链（PEM）"), blank=True)
    encrypted_key_pem = models.TextField(_("加密的私钥（PKCS#8）"))
    subject = models.CharField(_("证书主题"), max_length=255)
    not_before = models.DateTimeField(_("生效时间"))
    not_after = models.DateTimeField(_("失效时间"))
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("签名密钥")
        verbose_name_plural = _("签名密钥")
        ordering = ["organization_id", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization"], condition=models.Q(active=True),
                                    name="one_active_signing_key")
        ]

    def __str__(self) -> str:
        return self.subject
