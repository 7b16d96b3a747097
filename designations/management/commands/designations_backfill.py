"""Create the designations of certificates issued before designations existed (safe to run again)."""
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from designations.services import designations_backfill


class Command(BaseCommand):
    help = _("为已颁发的证书补建授牌记录（可重复执行）")

    def handle(self, *args, **options):
        created = designations_backfill()
        self.stdout.write(_("补建授牌记录 %(count)d 条。") % {"count": created})
