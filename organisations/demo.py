"""Demo département: Seine-et-Marne, two Maisons départementales des solidarités (MDS)."""

from organisations.models import Lieu, Organisation, Service, Territory

WEEKDAY_HOURS = [["08:30", "12:30"], ["13:30", "17:30"]]

ORGANISATIONS = {
    "noisiel": {
        "name": "MDS de Noisiel",
        "phone": "01 64 62 45 00",
        "email": "mds.noisiel@demo.rdv-solidarites.fr",
        "website": "https://www.seine-et-marne.fr",
        "opening_hours": dict.fromkeys(("monday", "tuesday", "wednesday", "thursday", "friday"), WEEKDAY_HOURS),
        "lieux": [
            (
                "Maison Départementale des Solidarités (MDS) de Noisiel",
                "Grande Allée des Bois, 77186 Noisiel",
                "01 64 62 45 00",
            ),
            ("Centre Socio-Culturel Georges Brassens", "Place du Bois de Grâce, 77186 Noisiel", ""),
            ("Maison de la Petite Enfance (MPE)", "8 Rue Pierre Mendès France, 77200 Torcy", "01 60 37 26 10"),
        ],
        # Closed, kept for the RDVs that name it: shown under « Lieux archivés » in « Vos lieux ».
        "archived_lieux": [
            ("Ancienne antenne de Champs-sur-Marne", "5 Rue de Paris, 77420 Champs-sur-Marne", "01 64 68 12 40"),
        ],
    },
    "chelles": {
        "name": "MDS de Chelles",
        "phone": "01 60 93 36 00",
        "email": "mds.chelles@demo.rdv-solidarites.fr",
        "website": "",
        "opening_hours": {
            **dict.fromkeys(("monday", "tuesday", "thursday", "friday"), WEEKDAY_HOURS),
            "wednesday": [["08:30", "12:30"]],
        },
        "lieux": [
            ("MDS de Chelles", "2 Avenue du Général de Gaulle, 77500 Chelles", "01 60 93 36 00"),
            ("Pôle Familles", "12 Rue de la Haute Borne, 77500 Chelles", ""),
            ("Centre de Vie Enfantine (CVE)", "8 Allée des Enfants, 77360 Vaires-sur-Marne", ""),
        ],
        "archived_lieux": [
            ("Permanence de la mairie de Brou", "Place de la Mairie, 77177 Brou-sur-Chantereine", ""),
        ],
    },
}


def build(ctx: dict) -> None:
    Service.objects.ensure_defaults()
    territory, _ = Territory.objects.update_or_create(
        departement_number="77", defaults={"name": "Seine-et-Marne", "time_zone": "Europe/Paris"}
    )
    ctx["territory"] = territory
    ctx["organisations"] = {}
    for key, data in ORGANISATIONS.items():
        organisation, _ = Organisation.objects.update_or_create(
            territory=territory,
            name=data["name"],
            defaults={k: data[k] for k in ("phone", "email", "website", "opening_hours")},
        )
        ctx["organisations"][key] = organisation
        for is_active, lieux in ((True, data["lieux"]), (False, data["archived_lieux"])):
            for name, address, phone in lieux:
                Lieu.objects.update_or_create(
                    organisation=organisation,
                    name=name,
                    defaults={"address": address, "phone": phone, "is_active": is_active},
                )
