"""Demo data: organizations of three provinces, a few societies and one user per role along two chains."""
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from security import passwords

from .models import Division, Level, Membership, Organization, OrgKind, Role
from .services import divisions_import, member_display_name, organizations_ensure_for_province

DEMO_PROVINCES = ("340000", "510000", "370000")  # 安徽, 四川, 山东

# (username prefix, division code) along 安徽省 → 滁州市 → 琅琊区 / 南谯区 and 四川省 → 成都市 → 郫都区.
DEMO_CHAINS = (
    ("anhui", "340000"),
    ("chuzhou", "341100"),
    ("langya", "341102"),
    ("nanqiao", "341103"),
    ("sichuan", "510000"),
    ("chengdu", "510100"),
    ("pidu", "510117"),
)

# Expert review needs at least two experts, so each province gets a second one.
DEMO_EXTRA_EXPERTS = (("anhui_expert2", "340000"), ("sichuan_expert2", "510000"))

# (name, level, division code of the parent 科协 or None for the national root, own division code)
DEMO_SOCIETIES = (
    ("中国机械工程学会", Level.NATIONAL, None, None),
    ("安徽省机械工程学会", Level.PROVINCE, "340000", "340000"),
    ("滁州市计算机学会", Level.CITY, "341100", "341100"),
)

DEMO_EMAIL_DOMAIN = "demo.kexie.example"

MISSING_DIVISION = gettext_noop("演示数据需要有效的区划 %(code)s 及其科协，但没有找到（请先导入区划）")


class DemoSeedError(ValueError):
    """The divisions the demo data needs are missing; nothing was created."""


@dataclass(frozen=True)
class _DemoUser:
    username: str
    division_code: str
    role: str
    number: int = 1  # 2 for the extra experts


def _demo_users() -> list[_DemoUser]:
    users = [
        _DemoUser(f"{prefix}_{role}", code, role) for prefix, code in DEMO_CHAINS for role in Role.values
    ]
    users += [_DemoUser(username, code, Role.EXPERT, number=2) for username, code in DEMO_EXTRA_EXPERTS]
    return users


def demo_usernames() -> list[str]:
    """User names of every demo user, in the order they are created."""
    return [u.username for u in _demo_users()]


def _kexie(code: str) -> Organization:
    org = Organization.objects.filter(division_id=code, kind=OrgKind.KEXIE).select_related("division").first()
    if org is None:
        raise DemoSeedError(_(MISSING_DIVISION) % {"code": code})
    return org


def _national_root() -> Organization:
    return Organization.objects.get(kind=OrgKind.KEXIE, level=Level.NATIONAL, parent=None)


def _societies_ensure() -> None:
    root = _national_root()
    for name, level, parent_code, division_code in DEMO_SOCIETIES:
        Organization.objects.get_or_create(
            kind=OrgKind.SOCIETY, name=name,
            defaults={
                "level": level,
                "parent": root if parent_code is None else _kexie(parent_code),
                "division_id": division_code,
            },
        )


@transaction.atomic
def demo_seed(*, reset_passwords: bool = False) -> list[tuple]:
    """Create the demo data (idempotent, one transaction).

    Returns a row (username, 姓名, 组织, 角色, password) for every user created now, or for every demo
    user when `reset_passwords` is set; users that already exist keep their password otherwise. Whoever logs
    in with a printed password is asked for a new one first (security.passwords).
    """
    if not Division.objects.exists():
        divisions_import()
    for code in DEMO_PROVINCES:
        if not Division.objects.filter(code=code).exists():
            raise DemoSeedError(_(MISSING_DIVISION) % {"code": code})
        organizations_ensure_for_province(province_code=code)
    _societies_ensure()

    User = get_user_model()
    organizations = {code: _kexie(code) for _prefix, code in DEMO_CHAINS}
    rows = []
    # Names and role titles are stored in Chinese whatever language the command runs in.
    with translation.override("zh-hans"):
        for spec in _demo_users():
            org = organizations[spec.division_code]
            role_title = str(Role(spec.role).label)
            first_name = member_display_name(org, spec.role, spec.number)
            user = User.objects.filter(username=spec.username).first()
            password = None
            if user is None:
                user = User(
                    username=spec.username, first_name=first_name,
                    email=f"{spec.username}@{DEMO_EMAIL_DOMAIN}",
                    is_staff=spec.role in (Role.ADMIN, Role.SECURITY_ADMIN), is_superuser=False,
                )
                password = secrets.token_urlsafe(9)
                user.set_password(password)
                user.save()
            elif user.is_superuser:
                # Older demos made their administrators superusers; a demo account is scoped like any other.
                user.is_superuser = False
                user.save(update_fields=["is_superuser"])
            if user.pk and reset_passwords and password is None:
                password = secrets.token_urlsafe(9)
                user.set_password(password)
                user.save(update_fields=["password"])
            Membership.objects.get_or_create(user=user, organization=org, role=spec.role)
            if password is not None:
                # A printed password is the operator's, not the holder's: changed at the first login.
                passwords.require_change(user)
                rows.append((user.username, user.first_name, org.name, role_title, password))
    return rows
