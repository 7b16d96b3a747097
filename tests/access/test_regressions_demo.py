"""Regression of issue 10 on the demo data (an empty database, not the access tests' world): every demo
管理员, a county's included, was a Django superuser, so that as 琅琊区's admin one read every API token, opened
四川's applications and edited other provinces' users, organizations and batches."""
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from orgs.demo import demo_seed
from orgs.models import Membership, Role
from security.passwords import record_change

pytestmark = pytest.mark.django_db


def test_the_demo_makes_no_superuser_and_its_admins_see_no_token():
    demo_seed()
    User = get_user_model()
    record_change(User.objects.get(username="langya_admin"))  # past the first login's forced change
    assert list(User.objects.filter(is_superuser=True).values_list("username", flat=True)) == []
    assert Membership.objects.filter(role=Role.ADMIN, user__username="langya_admin").exists()
    client = Client()
    client.force_login(User.objects.get(username="langya_admin"), backend="django.contrib.auth.backends.ModelBackend")
    response = client.get("/admin/authtoken/tokenproxy/")
    assert response.status_code in (302, 403, 404) and "/admin/login/" in response.get("Location", "/admin/login/")
    other = User.objects.get(username="sichuan_clerk")
    response = client.post(f"/admin/auth/user/{other.pk}/change/", {"username": other.username, "is_superuser": "on"})
    assert response.status_code < 500
    other.refresh_from_db()
    assert not other.is_superuser
