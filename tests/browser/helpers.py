from tests.agents.factories import PASSWORD


def log_in(page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as an agent does."""
    page.goto(page.base_url + "/organisations/")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def open_side_menu(page, name: str) -> None:
    """Unfold a section of the side menu (« Paramètres », « Votre planning »). DSFR's script draws
    the collapse: a click before it has started (`<html data-fr-js="true">`) does nothing."""
    page.locator("html[data-fr-js='true']").wait_for(state="attached")
    page.get_by_role("button", name=name).click()
