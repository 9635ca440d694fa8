"""Demo motifs: a dozen per MDS across PMI, social and secrétariat, of every type; some bookable
online with their delays and their sectorisation (by organisation, by agent, none), one RDV de
suivi, some for the secrétariat, one with instructions, one archived. The motifs of a sensitive
name of the référentiel (« Consultation de planification familiale », « Accompagnement
budgétaire ») do not show it in the messages to usagers."""

from motifs.models import Motif, MotifCategory
from organisations.models import Service

PLACE, PHONE, HOME = Motif.LocationType.PUBLIC_OFFICE, Motif.LocationType.PHONE, Motif.LocationType.HOME
D = Motif.BookingDelay
BY_ORGANISATION, BY_AGENT = Motif.SectorisationLevel.ORGANISATION, Motif.SectorisationLevel.AGENT

PRENATAL_INSTRUCTIONS = (
    "Merci d'apporter votre carnet de santé, votre carte Vitale et, si vous en avez, vos derniers "
    "résultats d'analyses. Prévenez-nous au moins 24 heures à l'avance si vous ne pouvez pas venir."
)
PRENATAL_AFTER = "Présentez-vous à l'accueil 10 minutes avant l'heure du rendez-vous."

# (service short name, référentiel name, location type, minutes, colour, options)
MOTIFS = [
    (
        "PMI",
        "Consultation prénatale",
        PLACE,
        45,
        "#e4794a",
        {
            "bookable_online": True,
            "sectorisation_level": BY_ORGANISATION,
            "min_booking_delay": D.ONE_DAY,
            "max_booking_delay": D.TWO_MONTHS,
            "instructions_before": PRENATAL_INSTRUCTIONS,
            "instructions_after": PRENATAL_AFTER,
        },
    ),
    (
        "PMI",
        "Consultation pédiatrique 0-6 ans",
        PLACE,
        30,
        "#ce70cc",
        {"bookable_online": True, "min_booking_delay": D.TWO_HOURS, "max_booking_delay": D.THREE_MONTHS},
    ),
    (
        "PMI",
        "Consultation de puériculture",
        PLACE,
        30,
        "#f5a5d0",
        {
            "bookable_online": True,
            "sectorisation_level": BY_AGENT,
            "for_secretariat": True,
            "min_booking_delay": D.HALF_HOUR,
            "max_booking_delay": D.ONE_MONTH,
        },
    ),
    ("PMI", "Pesée", PLACE, 15, "#fcc63a", {"for_secretariat": True}),
    ("PMI", "Entretien prénatal précoce", PHONE, 45, "#a558a0", {}),
    ("PMI", "Visite à domicile post-natale", HOME, 60, "#6e445a", {}),
    ("PMI", "Consultation de planification familiale", PLACE, 30, "#e18b76", {"notifications_disabled": True}),
    (
        "Social",
        "Premier rendez-vous avec un travailleur social",
        PLACE,
        45,
        "#009081",
        {
            "bookable_online": True,
            "sectorisation_level": BY_ORGANISATION,
            "min_booking_delay": D.ONE_DAY,
            "max_booking_delay": D.THREE_WEEKS,
        },
    ),
    (
        "Social",
        "Suivi social",
        PLACE,
        45,
        "#34bab5",
        {
            "follow_up": True,
            "bookable_online": True,
            "min_booking_delay": D.ONE_HOUR,
            "max_booking_delay": D.TWO_MONTHS,
        },
    ),
    ("Social", "Accompagnement budgétaire", PLACE, 60, "#417dc4", {}),
    ("Social", "Aide aux démarches administratives", PHONE, 30, "#5770be", {"for_secretariat": True}),
    ("Social", "Visite à domicile sociale", HOME, 60, "#2d3f67", {}),
    ("Secrétariat", "Accueil secrétariat", PLACE, 15, "#929292", {"for_secretariat": True}),
]

# Withdrawn but kept: shows the « Motifs archivés » filter.
ARCHIVED = ("Social", "Accompagnement RSA", PLACE, 45, "#b34000", {})


def build(ctx: dict) -> None:
    MotifCategory.objects.ensure_referentiel()
    services = {service.short_name: service for service in Service.objects.all()}
    categories = {category.name: category for category in MotifCategory.objects.all()}
    for organisation in ctx["organisations"].values():
        for row in MOTIFS:
            _motif(organisation, services, categories, row, archived=False)
        _motif(organisation, services, categories, ARCHIVED, archived=True)


def _motif(organisation, services, categories, row, *, archived: bool) -> None:
    service_name, name, location_type, minutes, color, options = row
    category = categories[name]
    defaults = {
        "name": category.name,
        "default_duration_in_min": minutes,
        "color": color,
        "follow_up": False,
        "for_secretariat": False,
        "bookable_online": False,
        "sectorisation_level": Motif.SectorisationLevel.DEPARTEMENT,
        "min_booking_delay": D.HALF_HOUR,
        "max_booking_delay": D.THREE_MONTHS,
        "notifications_disabled": False,
        "show_name_in_messages": not category.sensitive,
        "instructions_before": "",
        "instructions_after": "",
        **options,
    }
    motif, _ = Motif.objects.update_or_create(
        organisation=organisation,
        service=services[service_name],
        category=category,
        location_type=location_type,
        defaults=defaults,
    )
    if archived and not motif.is_archived:
        motif.archive()
