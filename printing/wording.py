"""How documents word a program: the certificate title with its division type resolved, how the awardee is
addressed, and whether a city recommends (a county's application) or applies itself (a city's own).

Everything is read from the program row (``subject_kind``, ``certificate_title``, ``chain``) and the
subject's division, so a new program needs no code here.
"""
from __future__ import annotations

from dataclasses import dataclass

from approvals.models import Program, Stage, SubjectKind

DIVISION_TYPE_PLACEHOLDER = "{division_type}"

# GB/T 2260 county-level names end in 区 (市辖区, 林区, 特区), 县 (自治县), 市 (县级市) or 旗 (自治旗);
# city-level ones in 市, 州 (自治州), 盟 or 地区. The longest ending is tried first.
_DIVISION_ENDINGS = (("自治县", "县"), ("自治旗", "旗"), ("自治州", "州"), ("地区", "地区"), ("区", "区"), ("县", "县"),
                     ("市", "市"), ("旗", "旗"), ("州", "州"), ("盟", "盟"))


def division_type(name: str) -> str:
    """区, 县, 市, 旗... of a division name (琅琊区 → 区, 天长市 → 市, 来安县 → 县, 金寨县 → 县)."""
    for ending, kind in _DIVISION_ENDINGS:
        if name.endswith(ending):
            return kind
    return "县"


def city_recommends(program: Program) -> bool:
    """A city recommends the program's applications (they come from counties); otherwise the city applies
    for itself and its letter is an application, not a recommendation."""
    return Stage.CITY_REVIEW in (program.chain or [])


def certificate_title(program: Program, division_name: str) -> str:
    """The designation as printed: 学会服务站; 创新驱动示范区 for 琅琊区, 创新驱动示范县 for 来安县."""
    title = program.certificate_title or program.name_zh
    return title.replace(DIVISION_TYPE_PLACEHOLDER, division_type(division_name))


def awardee_name(program: Program, subject_name: str, division_name: str) -> str:
    """琅琊区创新驱动示范区, 滁州某某有限公司学会服务站 (the title is not repeated if the name has it)."""
    title = certificate_title(program, division_name)
    return subject_name if subject_name.endswith(title) else f"{subject_name}{title}"


def addressee(program: Program, division_name: str) -> str:
    """你单位 for a unit; 你区, 你县, 你市 for a division designated itself."""
    if program.subject_kind == SubjectKind.DIVISION:
        return "你" + division_type(division_name)
    return "你单位"


@dataclass(frozen=True)
class LetterWording:
    """The words of a city's letter and summary table for one program."""

    recommends: bool
    letter_title: str
    table_title: str
    verb: str  # 推荐 or 申报
    date_label: str


def letter_wording(program: Program, batch_name: str) -> LetterWording:
    if city_recommends(program):
        return LetterWording(True, f"关于推荐{batch_name}申报单位的函", f"{batch_name}推荐汇总表", "推荐", "推荐日期")
    return LetterWording(False, f"关于申报{batch_name}的函", f"{batch_name}申报汇总表", "申报", "申报日期")
