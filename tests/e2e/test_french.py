"""A French browser (Chromium with the fr-FR locale, so Accept-Language: fr-FR): the pages
and the scripts' messages are in French (the scripts hold no text: docs/translations.md)."""

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def french_page(browser):
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_the_spa_demo_speaks_french(live_server, french_page, user, password):
    page = french_page
    page.goto(f"{live_server.url}/accounts/spa-demo/")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.title() == "Démo SPA · Kit"

    page.get_by_label("Nom d'utilisateur ou adresse e-mail").fill(user.username)
    page.get_by_label("Mot de passe").fill("not-the-password")
    page.get_by_role("button", name="Se connecter").click()
    # The script's message from the page, around the API's French detail.
    page.wait_for_selector(
        "#status:text('Échec de la connexion\u00a0: "
        "Impossible de se connecter avec ces identifiants.')"
    )

    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_selector("#status:text('Profil chargé.')")
    page.get_by_role("button", name="Se déconnecter", exact=True).last.click()
    page.wait_for_selector("#status:text('Déconnecté.')")
