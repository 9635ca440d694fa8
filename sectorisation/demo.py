"""Demo sectorisation of Seine-et-Marne: the communes around each MDS form its sector, a street of
Chelles is served by Noisiel (a street sector wins over the whole commune), the PMI agents are
attributed their MDS's sector (for motifs sectorised by agent), and Claire Dubois administers the
territory. An usager of Noisiel and one of Chelles are offered different MDS."""

from agents.models import Agent, TerritoryRole
from sectorisation.loading import load_communes
from sectorisation.models import Commune, Sector, SectorArea, SectorAttribution

TERRITORY_ADMIN = "admin.noisiel@demo.rdv-solidarites.fr"

# name: (INSEE codes, street (or ""), organisation key, agent emails attributed by name)
SECTORS = {
    "Val Maubuée": (
        ["77337", "77468", "77083", "77258", "77169", "77146"],  # Noisiel, Torcy, Champs, Lognes, …
        "",
        "noisiel",
        ["pmi.noisiel@demo.rdv-solidarites.fr"],
    ),
    "Chelles et environs": (
        ["77108", "77479", "77055", "77139"],  # Chelles, Vaires-sur-Marne, Brou, Courtry
        "",
        "chelles",
        ["pmi.chelles@demo.rdv-solidarites.fr"],
    ),
    "Chelles – quartier de la Haute Borne": (["77108"], "Rue de la Haute Borne", "noisiel", []),
}


def build(ctx: dict) -> None:
    if not Commune.objects.filter(pk="77337").exists():
        load_communes()
    territory = ctx["territory"]
    for name, (codes, street, organisation_key, emails) in SECTORS.items():
        sector, _ = Sector.objects.get_or_create(territory=territory, name=name)
        for code in codes:
            if not sector.areas.filter(commune_id=code, street=street).exists():
                SectorArea.objects.create(sector=sector, commune_id=code, street=street)
        organisation = ctx["organisations"][organisation_key]
        SectorAttribution.objects.get_or_create(sector=sector, organisation=organisation, agent=None)
        for email in emails:
            agent = Agent.objects.get(email__iexact=email)
            SectorAttribution.objects.get_or_create(sector=sector, organisation=organisation, agent=agent)
    admin = Agent.objects.get(email__iexact=TERRITORY_ADMIN)
    TerritoryRole.objects.get_or_create(agent=admin, territory=territory)
    ctx["logins"] = [
        (
            email,
            f"{description}, administratrice du territoire (sectorisation)"
            if email == TERRITORY_ADMIN
            else description,
        )
        for email, description in ctx["logins"]
    ]
