"""A small real world for the engine: two provinces, their cities and counties, one user per role."""
import datetime as dt
import io
import zipfile

import pytest
from django.core.management import call_command
from django.utils import timezone

from approvals.models import Batch, BatchQuota, Program
from orgs.models import Division, Level, Membership, Organization, OrgKind
from orgs.services import member_display_name
from tests.factories import UserFactory

ROLES = ("clerk", "leader", "reviewer", "expert", "admin", "auditor")
# name, code, level, parent key
ORGS = {
    "anhui": ("安徽省", "340000", Level.PROVINCE, None),
    "chuzhou": ("滁州市", "341100", Level.CITY, "anhui"),
    "langya": ("琅琊区", "341102", Level.COUNTY, "chuzhou"),
    "nanqiao": ("南谯区", "341103", Level.COUNTY, "chuzhou"),
    "hefei": ("合肥市", "340100", Level.CITY, "anhui"),
    "yaohai": ("瑶海区", "340102", Level.COUNTY, "hefei"),
    "sichuan": ("四川省", "510000", Level.PROVINCE, None),
    "chengdu": ("成都市", "510100", Level.CITY, "sichuan"),
    "pidu": ("郫都区", "510117", Level.COUNTY, "chengdu"),
}
USCC = "91341100MA2N0XKX1G"  # check character valid under GB 32100


class World:
    def __init__(self):
        root = Organization.objects.create(name="中国科学技术协会", level=Level.NATIONAL)
        self.org, self.user, self.division = {}, {}, {}
        for key, (name, code, level, parent) in ORGS.items():
            parent_div = self.division[parent] if parent else None
            self.division[key] = Division.objects.create(code=code, name=name, level=level, parent=parent_div)
            self.org[key] = Organization.objects.create(
                name=f"{name}科学技术协会", kind=OrgKind.KEXIE, level=level, division=self.division[key],
                parent=self.org[parent] if parent else root,
            )
            for role in ROLES:
                user = UserFactory(username=f"{key}_{role}", first_name=member_display_name(self.org[key], role))
                Membership.objects.create(user=user, organization=self.org[key], role=role)
                self.user[f"{key}_{role}"] = user
        expert2 = UserFactory(username="anhui_expert2",
                              first_name=member_display_name(self.org["anhui"], "expert", 2))
        Membership.objects.create(user=expert2, organization=self.org["anhui"], role="expert")
        self.user["anhui_expert2"] = expert2
        expert2 = UserFactory(username="sichuan_expert2",
                              first_name=member_display_name(self.org["sichuan"], "expert", 2))
        Membership.objects.create(user=expert2, organization=self.org["sichuan"], role="expert")
        self.user["sichuan_expert2"] = expert2
        call_command("loaddata", "programs", verbosity=0)
        self.batches = {}

    def batch(self, program_code: str, province: str = "anhui", quota: int = 3) -> Batch:
        key = (program_code, province)
        if key not in self.batches:
            program = Program.objects.get(code=program_code)
            today = timezone.localdate()
            batch = Batch.objects.create(
                program=program, province=self.org[province], year=today.year, name=f"{today.year}年{program.name_zh}",
                opens_on=today - dt.timedelta(days=10), closes_on=today + dt.timedelta(days=30),
            )
            for city in Organization.objects.filter(parent=self.org[province], level=Level.CITY):
                BatchQuota.objects.create(batch=batch, city=city, quota=quota)
            self.batches[key] = batch
        return self.batches[key]


@pytest.fixture
def world(db):
    return World()


def minimal_pdf(text: str = "x") -> bytes:
    return b"%PDF-1.4\n% " + text.encode() + b"\n%%EOF\n"


def minimal_docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


def station_form(tier="provincial", needs=5, experts=5, units=5, expert_level="provincial") -> dict:
    return {
        "address": "滁州市琅琊区丰乐大道 1 号", "responsible_person": "张三", "contact_person": "李四",
        "phone": "0550-1234567", "email": "contact@example.com", "work_basis": "已有良好合作基础。",
        "work_plan": "三年内攻关五项关键技术。", "sponsor_society": "安徽省机械工程学会", "sponsor_level": "provincial",
        "tier": tier, "technical_needs": [{"title": f"需求{i}", "description": ""} for i in range(needs)],
        "experts": [{"name": f"专家{i}", "title": "教授", "employer": "合肥工业大学", "level": expert_level}
                    for i in range(experts)],
        "radiated_units": [{"name": f"单位{i}"} for i in range(units)],
        "office_area": "120", "staff": 3, "funding": "50", "agreement_years": 3,
    }


def region_form() -> dict:
    return {
        "address": "示范地址", "responsible_person": "王五", "contact_person": "赵六", "phone": "0550-7654321",
        "email": "region@example.com", "work_basis": "基础扎实。", "work_plan": "目标明确。",
        "profile": "基本情况介绍。", "rd_intensity": "2.5", "high_tech_enterprises": 120,
        "construction_plan": "建设方案摘要。",
    }


def base_form() -> dict:
    return {
        "address": "基地地址", "responsible_person": "王五", "contact_person": "赵六", "phone": "0550-7654321",
        "email": "base@example.com", "work_basis": "基础扎实。", "work_plan": "目标明确。",
        "partners": [{"name": "中国科学技术大学", "kind": "university"}, {"name": "安徽省机械工程学会", "kind": "society"}],
        "platforms": [], "joint_projects": [],
    }


def academician_form() -> dict:
    return {
        "address": "工作站地址", "responsible_person": "王五", "contact_person": "赵六", "phone": "0550-7654321",
        "email": "ws@example.com", "work_basis": "基础扎实。", "work_plan": "目标明确。",
        "academician": [{"name": "某院士", "title": "中国工程院院士"}], "research_direction": "智能制造",
    }
