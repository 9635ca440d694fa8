"""Demo usagers: a few hundred families in each MDS, with French accents in their names, children
as proches, référents among the demo agents, a few families known to both MDS, some created
online by the usagers themselves. Deterministic (a seeded random generator) and built once: a
second run finds the first family and leaves the base as the agents left it."""

import datetime
import random
import unicodedata

from simple_history.utils import bulk_create_with_history

from agents.models import Agent
from usagers.models import Usager, UsagerProfile


def split_names(text: str) -> list[str]:
    """A comma-separated list, written compactly."""
    return [name.strip() for name in text.split(",")]


SEED = 77
FAMILIES = {"noisiel": 240, "chelles": 140}
SHARED_FAMILIES = 25
TODAY = datetime.date(2025, 1, 1)  # birth dates stay the same whatever the day the demo is built

WOMEN = split_names(
    """
    Hélène, Chloé, Anaïs, Zoé, Noémie, Gaëlle, Léa, Inès, Maëlle, Clémence, Aurélie, Céline, Élodie,
    Mélanie, Sophie, Camille, Nadia, Fatoumata, Aïcha, Yasmine, Émilie, Océane, Justine, Laëtitia,
    Bérénice, Manon, Sarah, Leïla, Agnès, Françoise, Amélie, Maïwenn, Joëlle, Anne-Sophie,
    Marie-Thérèse, Séverine, Nathalie, Valérie, Aminata
    """
)
MEN = split_names(
    """
    Loïc, François, Jérôme, Benoît, Mathéo, Noé, Raphaël, Théo, Gaël, Hugo, Karim, Mamadou, Stéphane,
    Frédéric, Sébastien, Jean-Pierre, Cédric, Rémi, Joël, Anthony, Mehdi, Youssef, Éric, Grégory,
    Thomas, Lucas, Nicolas, Moussa, Hervé, Clément
    """
)
CHILDREN = split_names(
    """
    Léo, Jade, Louise, Gabriel, Ambre, Aya, Noah, Maël, Lina, Rose, Adam, Mila, Éléna, Timéo, Zoé,
    Inaya, Anaïs, Naël, Kenza, Célia, Hélios, Lyne, Ismaël, Loïs
    """
)
LAST_NAMES = split_names(
    """
    Martin, Bernard, Dubois, Durand, Lefèvre, Lefebvre, Moreau, Girard, Mercier, Bonnet, François,
    Lambert, Fontaine, Rousseau, Vincent, Müller, N'Diaye, Le Bihan, Le Gall, Da Silva, Pereira,
    Benali, Haddad, Traoré, Diallo, Nguyen, Chevalier, Boyer, Garnier, Faure, Rivière, Barbier,
    Gauthier, Perrin, Morel, Hénault, Lemaître, Bégué, Côté, Ménard, Prévost, Lévêque, Gaillard,
    Brémond, Boulanger, Kévorkian, Mahé, Besançon, Dupré, Chérif, Ferreira, Koné, Camara, Lacroix,
    Dumont, Renaud, Thébault, Legrand
    """
)
STREETS = split_names(
    """
    rue de la Mairie, allée des Bois, avenue Jean Jaurès, rue Pierre Mendès France, place du Marché,
    rue des Écoles, boulevard Salvador Allende, rue Émile Zola, allée des Érables, rue de Paris,
    cours des Roches, rue du Général Leclerc, avenue de la République, rue Gambetta
    """
)
TOWNS = {
    "noisiel": ["77186 Noisiel", "77200 Torcy", "77420 Champs-sur-Marne", "77185 Lognes", "77090 Collégien"],
    "chelles": ["77500 Chelles", "77360 Vaires-sur-Marne", "77410 Claye-Souilly", "77270 Villeparisis"],
}
# Mobile prefixes in service (06 and 07, some blocks unallocated): the demo's numbers are valid.
MOBILE_PREFIXES = ["60", "61", "62", "64", "65", "66", "67", "68", "73", "74", "75", "76", "77", "78", "79"]
DOMAINS = ["example.com", "example.org", "example.net"]


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in text.lower() if c.isalnum())


def _birth_date(rng: random.Random, min_age: int, max_age: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=rng.randint(min_age * 365, max_age * 365 + 364))


def _phone(rng: random.Random) -> str:
    if rng.random() < 0.03:  # a number from La Réunion: families move between départements
        return f"+262692{rng.randint(0, 999999):06d}"
    return f"+33{rng.choice(MOBILE_PREFIXES)}{rng.randint(0, 9999999):07d}"


def _families(rng: random.Random) -> list[dict]:
    """[{"responsible": {...fields}, "proches": [{...}], "organisations": ["noisiel", …]}, …]"""
    families = []
    keys = [key for key, count in FAMILIES.items() for _ in range(count)]
    shared = set(rng.sample(range(len(keys)), SHARED_FAMILIES))
    for index, key in enumerate(keys):
        woman = rng.random() < 0.7
        first_name = rng.choice(WOMEN if woman else MEN)
        last_name = rng.choice(LAST_NAMES)
        birth_name = rng.choice(LAST_NAMES) if woman and rng.random() < 0.25 else ""
        responsible: dict[str, object] = {
            "first_name": first_name,
            "last_name": last_name,
            "birth_name": birth_name if birth_name != last_name else "",
            "birth_date": _birth_date(rng, 18, 72) if rng.random() < 0.85 else None,
            "email": (
                f"{_ascii(first_name)}.{_ascii(last_name)}{index}@{rng.choice(DOMAINS)}" if rng.random() < 0.6 else ""
            ),
            "phone": _phone(rng) if rng.random() < 0.75 else "",
            "address": (
                f"{rng.randint(1, 120)} {rng.choice(STREETS)}, {rng.choice(TOWNS[key])}" if rng.random() < 0.7 else ""
            ),
            "caisse": rng.choice(["caf", "caf", "caf", "msa", ""]),
            "case_number": f"{rng.randint(1000000, 9999999)}" if rng.random() < 0.4 else "",
            "family_situation": rng.choice(["single", "in_a_relationship", "divorced", "widowed", "", ""]),
            "housing": rng.choice(["tenant", "tenant", "owner", "hosted", "buying", "homeless", "", ""]),
            "notify_by_sms": rng.random() < 0.9,
            "notify_by_email": rng.random() < 0.8,
            "created_by": "usager" if rng.random() < 0.2 else "agent",
        }
        proches = []
        if rng.random() < 0.4:
            for _ in range(rng.choice([1, 1, 2, 2, 3])):
                proches.append(
                    {
                        "first_name": rng.choice(CHILDREN),
                        "last_name": last_name,
                        "birth_date": _birth_date(rng, 0, 16),
                    }
                )
            responsible["number_of_children"] = len(proches)
        other = "chelles" if key == "noisiel" else "noisiel"
        families.append(
            {
                "responsible": responsible,
                "proches": proches,
                "organisations": [key, other] if index in shared else [key],
            }
        )
    return families


def build(ctx: dict) -> None:
    rng = random.Random(SEED)
    families = _families(rng)
    first = families[0]["responsible"]
    if Usager.objects.filter(
        first_name=first["first_name"], last_name=first["last_name"], birth_date=first["birth_date"]
    ).exists():
        return
    organisations = ctx["organisations"]
    agents = {
        key: list(Agent.objects.filter(roles__organisation=organisation, is_active=True).order_by("email"))
        for key, organisation in organisations.items()
    }

    responsibles = bulk_create_with_history(
        [Usager(**family["responsible"]) for family in families], Usager, batch_size=500
    )
    proches = []
    for family, responsible in zip(families, responsibles, strict=True):
        family["usager"] = responsible
        family["proche_objects"] = [Usager(responsible=responsible, **proche) for proche in family["proches"]]
        proches.extend(family["proche_objects"])
    bulk_create_with_history(proches, Usager, batch_size=500)

    profiles, followed = [], []
    for family in families:
        for key in family["organisations"]:
            for member in [family["usager"], *family["proche_objects"]]:
                profile = UsagerProfile(usager=member, organisation=organisations[key])
                profiles.append(profile)
                if agents[key] and rng.random() < 0.3:
                    followed.append((profile, rng.sample(agents[key], k=min(len(agents[key]), rng.choice([1, 1, 2])))))
    bulk_create_with_history(profiles, UsagerProfile, batch_size=500)
    Through = UsagerProfile.referents.through
    Through.objects.bulk_create(
        [Through(usagerprofile=profile, agent=agent) for profile, chosen in followed for agent in chosen]
    )
    ctx["usagers"] = responsibles
