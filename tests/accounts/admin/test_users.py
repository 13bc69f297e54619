import pytest


@pytest.fixture
def admin_client_(client, make_user):
    admin = make_user(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


@pytest.mark.django_db
def test_admin_is_branded_as_the_kit(admin_client_):
    response = admin_client_.get("/admin/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Kit administration" in body
    assert "Kit admin</title>" in body


@pytest.mark.django_db
def test_user_admin_searches_by_email_and_filters_by_staff(admin_client_, make_user):
    make_user(username="ada", email="ada@lovelace.example")
    make_user(username="bob", email="bob@example.com", is_staff=True)
    found = admin_client_.get("/admin/accounts/user/", {"q": "lovelace"})
    assert found.status_code == 200
    assert [u.username for u in found.context["cl"].result_list] == ["ada"]

    staff = admin_client_.get("/admin/accounts/user/", {"is_staff__exact": "1"})
    assert sorted(u.username for u in staff.context["cl"].result_list) == ["bob", "root"]


@pytest.mark.django_db
def test_user_admin_change_page_renders(admin_client_, user):
    response = admin_client_.get(f"/admin/accounts/user/{user.pk}/change/")
    assert response.status_code == 200
    assert user.email in response.content.decode()


@pytest.mark.django_db
def test_admin_refuses_a_non_staff_user(client, user):
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
