"""Actions by state: the detail page offers exactly the actions the access layer allows this person in this
state, and the page's own posts agree with it: each offered button, posted with valid inputs, does its
transition; each button not offered, posted anyway, changes nothing. The same holds for the edit link and
the upload form. Every person of the approvals world is tried in every state an application passes
through (each post in a savepoint that is rolled back, so the states stay as built)."""
import re

import pytest
from django.db import transaction
from django.urls import reverse

from approvals import access
from approvals import services as svc
from approvals.models import Application
from approvals.stages import BUTTONS, Action
from orgs.access import principal_build
from tests.approvals.chain import act, create, publish_and_wait, to_decision, to_province_check
from tests.approvals.conftest import World
from tests.printing.helpers import certified_application

pytestmark = pytest.mark.django_db

BUTTON_RE = re.compile(r'action="/[^"]*?/applications/(\d+)/([a-z_]+)/"')


@pytest.fixture
def world(db, settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    return World()


def _states(world, capture) -> dict[str, Application]:
    """One application in each state of the 学会服务站 chain, built through the services (the city's quota
    raised: eight of them pass its review)."""
    world.batch("society-service-station", quota=20)
    clerk = act(world, "langya_clerk")
    states = {"draft": create(world, "society-service-station")}
    signoff = create(world, "society-service-station")
    svc.application_submit(actor=clerk, application_id=signoff.pk)
    states["applicant_signoff"] = signoff
    city = create(world, "society-service-station")
    svc.application_submit(actor=clerk, application_id=city.pk)
    svc.application_sign_off(actor=act(world, "langya_leader"), application_id=city.pk, comment="同意上报")
    states["city_review"] = city
    states["province_check"] = to_province_check(world, create(world, "society-service-station"), "langya")
    review = to_province_check(world, create(world, "society-service-station"), "langya")
    svc.application_accept(actor=act(world, "anhui_reviewer"), application_id=review.pk, comment="材料齐全")
    states["expert_review, none assigned"] = review
    scoring = to_province_check(world, create(world, "society-service-station"), "langya")
    svc.application_accept(actor=act(world, "anhui_reviewer"), application_id=scoring.pk, comment="材料齐全")
    svc.application_assign_experts(actor=act(world, "anhui_reviewer"), application_id=scoring.pk,
                                   expert_ids=[world.user["anhui_expert"].pk, world.user["anhui_expert2"].pk])
    svc.application_score(actor=act(world, "anhui_expert"), application_id=scoring.pk, score=88, comment="好")
    states["expert_review, one scored"] = scoring
    decision = to_decision(world, to_province_check(world, create(world, "society-service-station"), "langya"))
    states["decision"] = decision
    notice = to_decision(world, to_province_check(world, create(world, "society-service-station"), "langya"))
    svc.application_decide(actor=act(world, "anhui_leader"), application_id=notice.pk, approve=True,
                           comment="予以认定")
    states["public_notice, not published"] = notice
    published = to_decision(world, to_province_check(world, create(world, "society-service-station"), "langya"))
    svc.application_decide(actor=act(world, "anhui_leader"), application_id=published.pk, approve=True,
                           comment="予以认定")
    states["public_notice, over"] = publish_and_wait(world, published)
    states["certified"] = certified_application(world, capture)
    returned = create(world, "society-service-station")
    svc.application_submit(actor=clerk, application_id=returned.pk)
    svc.application_return(actor=act(world, "langya_leader"), application_id=returned.pk, comment="请补充")
    states["returned to draft"] = returned
    return {name: Application.objects.get(pk=app.pk) for name, app in states.items()}


def _inputs(world, button: str) -> dict:
    """Valid inputs for a button's post (what a person fills in on the page)."""
    data = {"comment": "同意。"}
    if button == "assign_experts":
        data["experts"] = [world.user["anhui_expert"].pk, world.user["anhui_expert2"].pk]
    elif button == "score":
        data["score"] = "90"
    elif button == "publish_notice":
        data["starts_on"] = svc.notice_start_choices()[0].isoformat()
    return data


def _post_rolled_back(client, url, data) -> tuple[int, int, str]:
    """Post in a savepoint that is rolled back; return (HTTP status, audit seq after, status after)."""
    with transaction.atomic():
        response = client.post(url, data)
        pk = int(url.split("/applications/")[1].split("/")[0])
        after = Application.objects.values_list("audit_seq", "status").get(pk=pk)
        transaction.set_rollback(True)
    client.cookies.pop("messages", None)
    return response.status_code, *after


def test_every_page_offers_exactly_the_allowed_actions_and_they_work(world, client,
                                                                    django_capture_on_commit_callbacks):
    states = _states(world, django_capture_on_commit_callbacks)
    checked_offers = checked_refusals = 0
    offered_to_someone = {state: set() for state in states}
    # People who see the application first, so that the others are tried with what it offers.
    people = sorted(world.user.items(), key=lambda item: not access.may_see_application(
        principal_build(user=item[1]), next(iter(states.values()))))
    for state, application in states.items():
        for username, user in people:
            client.force_login(user)
            detail = client.get(reverse("approvals:detail", args=[application.pk]))
            principal = principal_build(user=user)
            visible = access.may_see_application(principal, application)
            assert detail.status_code == (200 if visible else 404), (state, username)
            allowed = set(access.actions_allowed(principal, application)) if visible else set()
            html = detail.content.decode() if visible else ""
            offered = {name for pk, name in BUTTON_RE.findall(html)
                       if int(pk) == application.pk and name in BUTTONS}
            expected = {name for name, (spec, _button) in BUTTONS.items() if spec.action in allowed}
            assert offered == expected, (state, username, offered, expected)
            edit_url = reverse("approvals:edit", args=[application.pk])
            assert (f'href="{edit_url}"' in html) == (Action.EDIT in allowed), (state, username)
            upload_url = reverse("approvals:upload", args=[application.pk])
            assert (f'action="{upload_url}"' in html) == (Action.ATTACH in allowed), (state, username)
            # Someone who cannot see the application is tried with the buttons its page offers to others
            # (every other refusal of theirs is the access matrix's).
            tried = BUTTONS if visible else offered_to_someone[state]
            for button in tried:
                url = reverse("approvals:action", args=[application.pk, button])
                code, seq, status = _post_rolled_back(client, url, _inputs(world, button))
                if button in offered:
                    offered_to_someone[state].add(button)
                    assert (code, seq > application.audit_seq) == (302, True), (state, username, button)
                    checked_offers += 1
                else:
                    assert code in (302, 404) and (seq, status) == (application.audit_seq, application.status), (
                        state, username, button)
                    checked_refusals += 1
            edit = client.get(edit_url)
            assert (edit.status_code == 200) == (Action.EDIT in allowed), (state, username, edit.status_code)
    # Every state offered someone something, except where the system alone moves on.
    assert checked_offers >= len(states) - 1 and checked_refusals > 1000
