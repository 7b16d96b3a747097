"""A designation (授牌): the record of a pilot site in force, created with its certificate.

It copies what the public registry and the follow-up work read (program, awardee, host, sponsoring
society, the applicant's place in the tree, validity) so that neither needs the application's joins.
Its status is an FSM changed only by designations.services; every change is also an event on the
application's audit chain (approvals.services), which is the designation's history.
"""
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from approvals.models import Application, Program
from orgs.models import Division, Organization
from printing.models import Certificate


class DesignationStatus(models.TextChoices):
    VALID = "valid", _("有效")
    RECTIFYING = "rectifying", _("整改中")
    REVOKED = "revoked", _("已撤销")
    EXPIRED = "expired", _("已到期")
    RENEWED = "renewed", _("已续期")


# In force: shown by the public registry.
IN_FORCE = (DesignationStatus.VALID, DesignationStatus.RECTIFYING)
DS = DesignationStatus


class Designation(ConcurrentTransitionMixin, models.Model):
    application = models.OneToOneField(Application, verbose_name=_("申报"), on_delete=models.PROTECT,
                                       related_name="designation")
    certificate = models.OneToOneField(Certificate, verbose_name=_("证书"), on_delete=models.PROTECT,
                                       related_name="designation")
    program = models.ForeignKey(Program, verbose_name=_("申报类别"), on_delete=models.PROTECT, related_name="+")
    awardee_name = models.CharField(_("授牌名称"), max_length=255)
    host_name = models.CharField(_("依托单位"), max_length=200)
    sponsor_society = models.CharField(_("依托学会"), max_length=200, blank=True)
    # The applicant organization (a county's or a city's 科协) and its ancestors, copied for scope and search.
    applicant = models.ForeignKey(Organization, verbose_name=_("申报单位"), on_delete=models.PROTECT,
                                  related_name="+")
    applicant_path = models.CharField(max_length=255, db_index=True, editable=False)
    city = models.ForeignKey(Organization, verbose_name=_("市"), on_delete=models.PROTECT, related_name="+")
    province = models.ForeignKey(Organization, verbose_name=_("省"), on_delete=models.PROTECT, related_name="+")
    division = models.ForeignKey(Division, verbose_name=_("所在区划"), on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField(_("有效期起"))
    valid_until = models.DateField(_("有效期止"), db_index=True)
    status = FSMField(_("状态"), default=DS.VALID, choices=DS.choices, protected=True, db_index=True)
    status_changed_at = models.DateTimeField(_("状态变更时间"), null=True, blank=True)
    status_reason = models.TextField(_("状态变更原因"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("授牌")
        verbose_name_plural = _("授牌")
        ordering = ["-valid_from", "-id"]
        indexes = [
            models.Index(fields=["applicant_path"], name="designation_path_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["status", "program"], name="designation_status_program_idx"),
        ]

    def __str__(self) -> str:
        return self.awardee_name

    # --- transitions: they only check and set; services lock, save and record the event. ---

    @transition(field=status, source=[DS.VALID, DS.RECTIFYING], target=DS.REVOKED)
    def revoke(self):
        pass

    @transition(field=status, source=[DS.VALID, DS.RECTIFYING], target=DS.EXPIRED)
    def expire(self):
        pass
