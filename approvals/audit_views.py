"""Auditors' download of the signed audit digests and of the public key that checks them (docs/audit.md)."""
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.views import View

from orgs.access import principal_of

from .access import may_download_audit_digests
from .audit_anchor import NAME, digest_dir, digests_listed, key_id, public_key_pem


class _AuditorsOnly(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not may_download_audit_digests(principal_of(request.user)):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class AuditDigestListView(_AuditorsOnly, View):
    def get(self, request):
        return render(request, "approvals/audit_digests.html", {
            "digests": digests_listed(), "key_id": key_id(),
        })


class AuditDigestDownloadView(_AuditorsOnly, View):
    def get(self, request, number):
        path = digest_dir() / NAME.format(number)
        if not path.is_file():
            raise Http404
        return FileResponse(path.open("rb"), as_attachment=True, filename=path.name,
                            content_type="text/plain; charset=utf-8")


class AuditPublicKeyView(_AuditorsOnly, View):
    def get(self, request):
        response = HttpResponse(public_key_pem(), content_type="application/x-pem-file")
        response["Content-Disposition"] = 'attachment; filename="audit-public-key.pem"'
        return response
