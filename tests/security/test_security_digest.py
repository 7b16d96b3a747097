"""The security log's signed digest: written only over a sound chain, and a truncation that the chain alone
cannot see (tail removed, head row rewound to match) found against it."""
import pytest
from django.core.management import call_command

from security.models import Kind, SecurityChainHead, SecurityEvent
from security.selectors import security_verify
from security.services import security_record
from security.tasks import write_security_digest
from tests.factories import UserFactory

from .commands import run

pytestmark = pytest.mark.django_db


def test_digest_then_rewound_tail_is_found(settings, capsys):
    user = UserFactory()
    for n in range(3):
        security_record(Kind.EXPORT, actor=user, target=f"export {n}")
    assert run("write_security_digest") == 0
    files = sorted(settings.SECURITY_DIGEST_DIR.iterdir())
    assert [f.name for f in files] == ["digest-000001.txt"]
    assert run("verify_security_log") == 0
    assert "与签名摘要" in capsys.readouterr().out

    last = SecurityEvent.objects.order_by("-seq").first()
    SecurityEvent.objects.filter(pk=last.pk).delete()
    before = SecurityEvent.objects.order_by("-seq").first()
    SecurityChainHead.objects.filter(pk=1).update(seq=before.seq, head=before.hash)
    assert security_verify()[0]  # the chain alone looks whole
    capsys.readouterr()
    assert run("verify_security_log") == 1
    assert "截断或回退" in capsys.readouterr().err
    assert run("write_security_digest") == 1  # a digest over the tampered chain is refused
    assert len(list(settings.SECURITY_DIGEST_DIR.iterdir())) == 1


def test_edited_digest_is_refused(settings, capsys):
    security_record(Kind.EXPORT, actor=UserFactory(), target="x")
    assert run("write_security_digest") == 0
    path = next(settings.SECURITY_DIGEST_DIR.iterdir())
    path.chmod(0o644)
    path.write_bytes(path.read_bytes().replace(b'[[0,', b'[[0,9', 1))
    capsys.readouterr()
    assert run("verify_security_log") == 1
    assert capsys.readouterr().err.strip()


def test_second_digest_links_the_first(settings):
    security_record(Kind.EXPORT, actor=UserFactory(), target="a")
    assert run("write_security_digest") == 0
    security_record(Kind.EXPORT, actor=UserFactory(), target="b")
    assert run("write_security_digest") == 0
    assert run("verify_security_log") == 0
    assert len(list(settings.SECURITY_DIGEST_DIR.iterdir())) == 2


def test_the_nightly_task_is_scheduled_and_writes_once(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["write-security-digest"]
    assert entry["task"] == "security.tasks.write_security_digest" == write_security_digest.name
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({0}, {45})
    security_record(Kind.EXPORT, actor=UserFactory(), target="a")
    assert write_security_digest.delay().get() == 1
    assert write_security_digest.delay().get() is None  # a redelivery within the hour adds nothing
    assert [f.name for f in settings.SECURITY_DIGEST_DIR.iterdir()] == ["digest-000001.txt"]
    assert run("verify_security_log") == 0


def test_the_nightly_task_writes_nothing_over_a_tampered_log(settings, caplog):
    security_record(Kind.EXPORT, actor=UserFactory(), target="a")
    SecurityEvent.objects.filter(seq=1).update(target="b")
    assert write_security_digest.delay().get() is None
    assert not settings.SECURITY_DIGEST_DIR.exists() or not list(settings.SECURITY_DIGEST_DIR.iterdir())
    assert "security digest not written" in caplog.text


@pytest.mark.parametrize("command", ["verify_security_log", "verify_audit"])
def test_a_digests_folder_that_is_not_there_is_an_error(command, tmp_path):
    """`--digests DIR` names an auditor's own copy: a wrong path is refused in Chinese, not passed as
    "no digest yet" with exit 0."""
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="签名摘要目录不存在"):
        call_command(command, "--digests", str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    assert run(command, "--digests", str(tmp_path / "empty")) == 0
