"""Receivers that write the security log: authentication, account and privilege changes, roles and
memberships, delegations, API tokens. Exports are recorded by the views that serve them."""
from axes.signals import user_locked_out
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone
from rest_framework.authtoken.models import Token

from orgs.models import Delegation, Membership

from . import passwords, two_factor
from .models import Kind, PasswordHistory
from .services import current_request, security_record

User = get_user_model()
_PRIVILEGE_FIELDS = ("is_active", "is_staff", "is_superuser")


@receiver(user_logged_in, dispatch_uid="security_login")
def _logged_in(sender, request, user, **kwargs):
    security_record(Kind.LOGIN, actor=user, request=request)
    if request is not None and hasattr(request, "session"):
        # security.middleware reads it on every request instead of asking the database
        request.session[two_factor.SESSION_ENROLLED] = two_factor.enrolled(user)
        # and whether the password must be changed before anything else (security.passwords)
        reason = passwords.change_reason(user)
        if reason:
            request.session[passwords.SESSION_CHANGE] = reason
        else:
            request.session.pop(passwords.SESSION_CHANGE, None)


@receiver(user_logged_out, dispatch_uid="security_logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        security_record(Kind.LOGOUT, actor=user, request=request)


@receiver(user_login_failed, dispatch_uid="security_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username") or "")
    security_record(Kind.LOGIN_FAILED, username=username, request=request)


@receiver(user_locked_out, dispatch_uid="security_lockout")
def _locked_out(sender, request, username, ip_address, **kwargs):
    security_record(Kind.LOCKOUT, username=str(username or ""), ip=ip_address, request=request)


@receiver(pre_save, sender=User, dispatch_uid="security_user_before")
def _user_before(sender, instance, update_fields=None, raw=False, **kwargs):
    """Remember the stored password and privileges, to compare after the save (a last_login save is not
    read: it names its fields and none of these)."""
    instance._security_before = None
    watched = {"password", *_PRIVILEGE_FIELDS}
    if raw or instance.pk is None or (update_fields is not None and not watched & set(update_fields)):
        return
    instance._security_before = User.objects.filter(pk=instance.pk).values("password", *_PRIVILEGE_FIELDS).first()


def _acting_user():
    """The user of the request being served, if one is logged in."""
    request = current_request.get()
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _password_set(instance, *, created: bool) -> None:
    """A password set by someone else (an administrator) must be replaced by its holder at the next login;
    one the holder chose (or set with no one logged in: a command, the token endpoint) counts as changed."""
    actor = _acting_user()
    if actor is not None and actor.pk != instance.pk:
        if instance.has_usable_password():
            passwords.require_change(instance)
    elif not created:
        passwords.record_change(instance)
        request = current_request.get()
        if actor is not None and hasattr(request, "session"):
            request.session.pop(passwords.SESSION_CHANGE, None)


@receiver(post_save, sender=User, dispatch_uid="security_user_after")
def _user_after(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    if created:
        security_record(Kind.USER_CREATED, target=instance.get_username(),
                        detail={f: getattr(instance, f) for f in _PRIVILEGE_FIELDS})
        _password_set(instance, created=True)
        return
    before = getattr(instance, "_security_before", None)
    if not before:
        return
    if before["password"] != instance.password:
        if before["password"]:
            PasswordHistory.objects.create(user=instance, password=before["password"], replaced_at=timezone.now())
        security_record(Kind.PASSWORD_CHANGED, target=instance.get_username())
        _password_set(instance, created=False)
    changed = {f: [before[f], getattr(instance, f)] for f in _PRIVILEGE_FIELDS if before[f] != getattr(instance, f)}
    if changed:
        security_record(Kind.PRIVILEGE_CHANGED, target=instance.get_username(), detail=changed)


@receiver(post_delete, sender=User, dispatch_uid="security_user_deleted")
def _user_deleted(sender, instance, **kwargs):
    security_record(Kind.USER_DELETED, target=instance.get_username())


def _m2m_names(model, pk_set) -> list[str]:
    if not pk_set:
        return []
    if model is Group:
        return sorted(Group.objects.filter(pk__in=pk_set).values_list("name", flat=True))
    return sorted(f"{app}.{code}" for app, code in
                  model.objects.filter(pk__in=pk_set).values_list("content_type__app_label", "codename"))


def _m2m_changed(kind):
    def receiver_(sender, instance, action, reverse, model, pk_set, **kwargs):
        if action not in ("post_add", "post_remove", "post_clear"):
            return
        operation = action.removeprefix("post_")
        if reverse:  # from the other side (group.user_set.add(...), group.permissions for a group)
            security_record(kind, target=str(instance), detail={"op": operation, "ids": sorted(pk_set or [])})
            return
        security_record(kind, target=str(instance), detail={"op": operation, "items": _m2m_names(model, pk_set)})
    return receiver_


_groups = _m2m_changed(Kind.GROUP_CHANGED)
_user_permissions = _m2m_changed(Kind.PERMISSION_CHANGED)
_group_permissions = _m2m_changed(Kind.PERMISSION_CHANGED)
m2m_changed.connect(_groups, sender=User.groups.through, dispatch_uid="security_groups")
m2m_changed.connect(_user_permissions, sender=User.user_permissions.through, dispatch_uid="security_user_perms")
m2m_changed.connect(_group_permissions, sender=Group.permissions.through, dispatch_uid="security_group_perms")


def _membership_detail(m: Membership) -> dict:
    return {"user": m.user.get_username(), "organization": m.organization_id, "role": m.role,
            "valid_from": m.valid_from.isoformat() if m.valid_from else None,
            "valid_until": m.valid_until.isoformat() if m.valid_until else None}


@receiver(post_save, sender=Membership, dispatch_uid="security_membership_saved")
def _membership_saved(sender, instance, created, raw=False, **kwargs):
    if not raw:
        security_record(Kind.MEMBERSHIP_CHANGED, target=str(instance),
                        detail={"op": "add" if created else "change", **_membership_detail(instance)})


@receiver(post_delete, sender=Membership, dispatch_uid="security_membership_deleted")
def _membership_deleted(sender, instance, **kwargs):
    security_record(Kind.MEMBERSHIP_CHANGED, target=f"{instance.pk}",
                    detail={"op": "remove", "user": instance.user_id, "organization": instance.organization_id,
                            "role": instance.role})


@receiver(post_save, sender=Delegation, dispatch_uid="security_delegation_saved")
def _delegation_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    op = "add" if created else ("cancel" if instance.cancelled_at else "change")
    security_record(Kind.DELEGATION_CHANGED, actor=instance.cancelled_by if op == "cancel" else instance.created_by,
                    target=f"{instance.pk}",
                    detail={"op": op, "delegator": instance.delegator_id, "delegate": instance.delegate_id,
                            "organization": instance.organization_id, "role": instance.role,
                            "starts_on": instance.starts_on.isoformat(), "ends_on": instance.ends_on.isoformat()})


@receiver(post_save, sender=LogEntry, dispatch_uid="security_admin_edit")
def _admin_edit(sender, instance, created, raw=False, **kwargs):
    """Every add, change and delete made in the admin site (Django's LogEntry), with what changed."""
    if created and not raw:
        security_record(Kind.ADMIN_EDIT, actor=instance.user,
                        target=f"{instance.content_type.app_label}.{instance.content_type.model}:{instance.object_id}",
                        detail={"op": {1: "add", 2: "change", 3: "delete"}.get(instance.action_flag, "other"),
                                "object": instance.object_repr[:200], "change": instance.change_message[:1000]})


@receiver(post_save, sender=Token, dispatch_uid="security_token_issued")
def _token_issued(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        security_record(Kind.TOKEN_ISSUED, actor=instance.user)


@receiver(post_delete, sender=Token, dispatch_uid="security_token_revoked")
def _token_revoked(sender, instance, **kwargs):
    security_record(Kind.TOKEN_REVOKED, target=str(instance.user_id))
