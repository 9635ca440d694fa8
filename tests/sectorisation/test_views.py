"""« Votre commune » (`sectorisation:commune_search`): public, GET only, works without JavaScript."""

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

pytestmark = [pytest.mark.usefixtures("communes")]


def search(client, **params):
    return client.get(reverse("sectorisation:commune_search", query=params))


def noisiel_link(href):
    details = '<span class="fr-hint-text">77186 · département 77</span>'
    return f'<a class="fr-link fr-link--lg" href="{href}">Noisiel{details}</a>'


def result_codes(response):
    return [commune.insee_code for commune, _url in response.context["results"]]


def test_results_link_to_next_with_the_commune(client, django_assert_num_queries):
    with django_assert_num_queries(2):
        response = search(client, q="noisiel", next="/reservation/lieux/?motif=3&commune=01001")
    assert response.status_code == 200
    assertContains(response, noisiel_link("/reservation/lieux/?motif=3&amp;commune=77337"), html=True)
    assertContains(response, '<h2 class="fr-h4" id="resultats-titre">1 commune pour « noisiel »</h2>', html=True)
    assertContains(
        response, '<input type="hidden" name="next" value="/reservation/lieux/?motif=3&amp;commune=01001">', html=True
    )


def test_the_form(client):
    response = search(client)
    assert response.context["results"] is None
    assertContains(
        response,
        '<label for="id_q" class="fr-label">Votre commune ou code postal'
        '<span class="fr-hint-text" id="id_q_helptext">Par exemple : Noisiel, Saint-Étienne ou 77186</span></label>',
        html=True,
    )
    assertContains(response, '<button class="fr-btn fr-btn--icon-left fr-icon-search-line" type="submit">', count=1)


def test_best_first_and_why_a_merged_commune_is_listed(client):
    assert result_codes(search(client, q="St Étienne"))[0] == "42218"
    response = search(client, q="01091")
    assert result_codes(response) == ["01033"]
    assertContains(
        response,
        '<a class="fr-link fr-link--lg" href="/communes/?commune=01033">Valserhône'
        '<span class="fr-hint-text">01200 · département 01 · anciennement Châtillon-en-Michaille</span></a>',
        html=True,
    )


def test_departement(client):
    response = search(client, q="saint denis", departement="974")
    assert result_codes(response) == ["97411"]
    assertContains(response, '<input type="hidden" name="departement" value="974">', html=True)


@pytest.mark.parametrize("q", ["", "   "])
def test_empty_query(client, q):
    response = search(client, q=q)
    assert response.context["results"] is None
    assertContains(response, "Indiquez le nom de votre commune ou son code postal.")


@pytest.mark.parametrize("q", ["a", "7", "-'"])
def test_too_short_query(client, q):
    response = search(client, q=q)
    assert response.context["results"] is None
    assertContains(
        response, "Indiquez au moins 2 lettres du nom de la commune, ou 2 chiffres du code postal.", status_code=200
    )


def test_no_result(client):
    response = search(client, q="xyzzy")
    assert response.context["results"] == []
    assertContains(response, "Aucune commune ne correspond à « xyzzy ». Vérifiez l'orthographe")


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/reservation/", "javascript:alert(1)", "/\\evil.example"],
)
def test_a_hostile_next_is_ignored(client, next_url):
    response = search(client, q="noisiel", next=next_url)
    assertContains(response, noisiel_link("/communes/?commune=77337"), html=True)
    assertNotContains(response, 'name="next"')
    assertNotContains(response, "evil")


def test_without_next_the_page_shows_the_commune_chosen(client):
    response = search(client, commune="77337")
    assertContains(response, "Commune choisie : Noisiel (77186)")
    assertNotContains(search(client, commune="<script>"), "Commune choisie")


@pytest.mark.parametrize(
    "params",
    [{"q": "noi\x00siel"}, {"next": "/\x00evil"}, {"departement": "7\x007"}, {"commune": "7\x00"}],
)
def test_a_nul_byte_is_a_french_error_not_a_500(client, params):
    # Refused with the whole request (rdv.middleware.RefuseNulMiddleware).
    response = search(client, **{"q": "noisiel", **params})
    assertContains(response, "<h1>Demande invalide</h1>", html=True, status_code=400)
    assertNotContains(response, 'name="next"', status_code=400)


def test_a_long_query_is_refused(client):
    assertContains(search(client, q="a" * 101), "au plus 100 caractères")


def test_get_only(client):
    assert client.post(reverse("sectorisation:commune_search"), {"q": "noisiel"}).status_code == 405
