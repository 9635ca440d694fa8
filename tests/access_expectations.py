"""What each actor of the access matrix (tests/test_access_matrix.py) gets from each URL pattern of
the project: the declaration the matrix checks, one entry per pattern name. A new URL pattern
fails the matrix until it is declared here, so say who may use it and what the others get.

The world (tests/access_world.py): organisation A; its RDV is the PMI's, its agent a basic PMI
agent (« owner »), with an usager and its proche; the plage, the absence are the owner's. The URL
of the admin of another organisation carries its own organisation with A's objects (an id swap).

The answers, as the matrix reads a response: "200", "404", "403", "405" (the method is not the
page's: the page only takes POST), or "302 <url name>" for a redirect. A refusal is a 404 (the
rule of DESIGN.md: another organisation's object, or one the agent may not open, is the same
answer as a missing one), a 403, or a redirect to a sign-in or check page. Writers are those who
may POST; a POST from anyone else must be refused and change nothing."""

from dataclasses import dataclass

from tests.access_world import (
    ACTORS,
    ADMIN,
    ADMIN_ELSEWHERE,
    AGENTS,
    SAME_SERVICE,
    SECRETARIAT,
    TERRITORY_ADMIN,
    TWO_ORGANISATIONS,
    USAGERS,
)

OK = "200"
NOT_FOUND = "404"
FORBIDDEN = "403"
POST_ONLY = "405"
LOGIN = "302 agents:login"
ADMIN_LOGIN = "302 admin:login"
USAGER_LOGIN = "302 reservation:login"
IDENTITY = "302 reservation:identity"  # « Prendre rendez-vous »: who are you, before the booking's last steps
LINK_CHECK = "302 reservation:rdv_link"  # the link of a message: the letters of the name first
# Where a refused request may be sent rather than answered 4xx.
SIGN_IN_PAGES = frozenset({LOGIN, ADMIN_LOGIN, USAGER_LOGIN, IDENTITY, LINK_CHECK})


def redirect(name: str) -> str:
    return f"302 {name}"


def is_refusal(answer: str) -> bool:
    return all(one in SIGN_IN_PAGES or one.startswith("4") for one in answer.split(" or "))


@dataclass(frozen=True)
class Access:
    """The GET answer of each actor; `writers`, who may POST the test's payload (by default those
    the page answers 200); `writes`, whether a writer's POST of it changes the database (the proof
    that the payload the others post is a valid one)."""

    answers: dict[str, str]
    writers: frozenset[str] = None  # type: ignore[assignment]  # set by __post_init__
    writes: bool = True
    why: str = ""

    def __post_init__(self):
        assert set(self.answers) == set(ACTORS), set(ACTORS) ^ set(self.answers)
        if self.writers is None:
            object.__setattr__(self, "writers", frozenset(a for a, answer in self.answers.items() if answer == OK))


def answers(default: str, **by_actor: str) -> dict[str, str]:
    return {actor: by_actor.get(actor, default) for actor in ACTORS}


def allowed(*actors: str, others: str = NOT_FOUND, **by_actor: str) -> dict[str, str]:
    """200 to `actors`, the agents' login to those not signed in as agents, `others` to the rest."""
    return {
        actor: by_actor.get(actor) or (OK if actor in actors else others if actor in AGENTS else LOGIN)
        for actor in ACTORS
    }


def post_only(get_answers: dict[str, str], writes: bool = True, **on_get: str) -> Access:
    """A page that only takes POST (a button of another page): its writers get 405 on GET, and so
    do `on_get`'s actors where the method is checked before their access."""
    return Access(
        {actor: on_get.get(actor) or (POST_ONLY if answer == OK else answer) for actor, answer in get_answers.items()},
        writers=frozenset(actor for actor, answer in get_answers.items() if answer == OK),
        writes=writes,
    )


# Every agent of the organisation (the admin of another organisation, in its own).
EVERY_AGENT = allowed(*AGENTS)
# Every agent of the organisation, about an object of A: not the admin of another organisation.
AGENTS_HERE = allowed(*AGENTS, admin_elsewhere=NOT_FOUND)
# Settings: the administrators, each in its own organisation.
SETTINGS = allowed(ADMIN, ADMIN_ELSEWHERE)
SETTINGS_OF_AN_OBJECT = allowed(ADMIN)
# The owner's agenda, planning and RDV: agents of its service, the secrétariat, the admins.
OWNERS_READERS = (SAME_SERVICE, SECRETARIAT, ADMIN)
OWNERS_AGENDA = allowed(*OWNERS_READERS)
# The territory's settings: its administrators, each through an organisation of its territory.
TERRITORY = allowed(TERRITORY_ADMIN, ADMIN_ELSEWHERE)
TERRITORY_OF_AN_OBJECT = allowed(TERRITORY_ADMIN)
PUBLIC = answers(OK)
# The usager's own space: signed-in usagers, each its own; the others to the usagers' sign-in.
USAGER_SPACE = answers(USAGER_LOGIN, usager=OK, other_usager=OK)
USAGERS_OWN = answers(USAGER_LOGIN, usager=OK, other_usager=NOT_FOUND)
# « Prendre rendez-vous », the last steps (tests/access_world.py gives them the answers of the
# first ones): any usager may book; anybody else proves who it is first.
BOOKING_STEP = answers(IDENTITY, usager=OK, other_usager=OK)

DECLARED: dict[str, Access] = {
    # Agents' sign-in and password: open to all; a signed-in agent goes to its organisations.
    "agents:login": Access(
        answers(OK, **{actor: redirect("organisations:choose") for actor in AGENTS}),
        writers=frozenset(ACTORS),
        writes=False,
        why="open to all: nobody to refuse",
    ),
    "agents:logout": post_only(allowed(*AGENTS)),
    "agents:password_reset": Access(PUBLIC, writes=False, why="sends an email, writes no row"),
    "agents:password_reset_done": Access(PUBLIC, writes=False),
    # The link of the email: its token is the key, whoever holds it (it then hides in the session).
    "agents:password_reset_confirm": Access(
        answers(redirect("agents:password_reset_confirm")), writers=frozenset(ACTORS), writes=False
    ),
    "agents:password_reset_complete": Access(PUBLIC, writes=False),
    "agents:account": Access(EVERY_AGENT),
    "agents:account_in_organisation": Access(EVERY_AGENT),
    # The invitation's link, for a person without an account: its token is the key.
    "agents:accept_invitation": Access(PUBLIC, writes=False, why="open to whoever holds the token"),
    # An invitation sent to an address that has an account: only that account answers it.
    "agents:respond_to_invitation": Access(allowed(SAME_SERVICE)),
    "agents:team": Access(SETTINGS, writes=False),
    "agents:invite": Access(SETTINGS),
    "agents:detail": Access(SETTINGS_OF_AN_OBJECT),
    "agents:remove": Access(SETTINGS_OF_AN_OBJECT),
    # POST only, checked after the settings' guard: another organisation's admin passes the guard
    # in its own organisation, then meets the 405 before the invitation is looked up.
    "agents:resend_invitation": post_only(SETTINGS_OF_AN_OBJECT, admin_elsewhere=POST_ONLY),
    "agents:cancel_invitation": post_only(SETTINGS_OF_AN_OBJECT, admin_elsewhere=POST_ONLY),
    # Organisations: the choice, the home page, the settings.
    # The agents of one organisation go straight to it; the others (an invitation pending, two
    # organisations) choose.
    "organisations:choose": Access(
        allowed(
            *AGENTS,
            **{
                actor: redirect("organisations:home")
                for actor in AGENTS
                if actor not in (SAME_SERVICE, TWO_ORGANISATIONS)
            },
        ),
        writers=frozenset(AGENTS),
        writes=False,
    ),
    "organisations:home": Access(EVERY_AGENT, writes=False),
    "organisations:settings": Access(SETTINGS),
    "organisations:lieux": Access(SETTINGS, writes=False),
    "organisations:lieu_create": Access(SETTINGS),
    "organisations:lieu_edit": Access(SETTINGS_OF_AN_OBJECT),
    "organisations:lieu_archive": Access(SETTINGS_OF_AN_OBJECT),
    "organisations:lieu_reactivate": Access(SETTINGS_OF_AN_OBJECT),
    # Usagers: the organisation's base is every agent's there, whatever its service or level.
    "usagers:list": Access(EVERY_AGENT, writes=False),
    "usagers:search": Access(EVERY_AGENT, writes=False),
    "usagers:create": Access(EVERY_AGENT),
    "usagers:detail": Access(AGENTS_HERE, writes=False),
    "usagers:update": Access(AGENTS_HERE),
    "usagers:delete": Access(AGENTS_HERE),
    "usagers:history": Access(AGENTS_HERE, writes=False),
    "usagers:create_proche": Access(AGENTS_HERE),
    # Motifs: settings.
    "motifs:list": Access(SETTINGS, writes=False),
    "motifs:create": Access(SETTINGS),
    "motifs:edit": Access(SETTINGS_OF_AN_OBJECT),
    "motifs:archive": Access(SETTINGS_OF_AN_OBJECT),
    "motifs:unarchive": Access(SETTINGS_OF_AN_OBJECT),
    # Sectorisation: the communes' search is public (the booking's first step); the sectors are the
    # territory administrators', whatever their level in the organisation.
    "sectorisation:commune_search": Access(PUBLIC, writes=False),
    "sectorisation:sectors": Access(TERRITORY, writes=False),
    "sectorisation:sector_create": Access(TERRITORY),
    "sectorisation:sector": Access(TERRITORY_OF_AN_OBJECT),
    "sectorisation:sector_delete": Access(TERRITORY_OF_AN_OBJECT),
    # POST only, checked after the territory's guard (see agents:resend_invitation).
    "sectorisation:area_delete": post_only(TERRITORY_OF_AN_OBJECT, admin_elsewhere=POST_ONLY),
    "sectorisation:attribution_delete": post_only(TERRITORY_OF_AN_OBJECT, admin_elsewhere=POST_ONLY),
    "sectorisation:import": Access(TERRITORY),
    "sectorisation:test": Access(TERRITORY, writes=False),
    # The territory's settings by the territory alone: its administrators, to them in one of their
    # organisations there; anybody else 404, the administrators of another territory included.
    "sectorisation:territory": Access(
        allowed(territory_admin=redirect("sectorisation:sectors")), writes=False, why="a redirect, GET only"
    ),
    # Planning: one's own, and the owner's for those who may open its agenda.
    "planning:my_plages": Access(
        allowed(*AGENTS, **{actor: redirect("planning:plage_list") for actor in AGENTS}),
        writers=frozenset(AGENTS),
        writes=False,
    ),
    "planning:my_absences": Access(
        allowed(*AGENTS, **{actor: redirect("planning:absence_list") for actor in AGENTS}),
        writers=frozenset(AGENTS),
        writes=False,
    ),
    "planning:public_holidays": post_only(SETTINGS),
    "planning:calendar_feed": post_only(EVERY_AGENT),
    # The private calendar address: its token is the key, whoever holds it.
    "planning:calendar": Access(PUBLIC, writes=False),
    "planning:plage_list": Access(OWNERS_AGENDA, writes=False),
    "planning:plage_create": Access(OWNERS_AGENDA),
    "planning:plage_edit": Access(OWNERS_AGENDA),
    "planning:plage_delete": Access(OWNERS_AGENDA),
    "planning:plage_occurrence": Access(OWNERS_AGENDA),
    "planning:absence_list": Access(OWNERS_AGENDA, writes=False),
    "planning:absence_create": Access(OWNERS_AGENDA),
    "planning:absence_edit": Access(OWNERS_AGENDA),
    "planning:absence_delete": Access(OWNERS_AGENDA),
    "planning:absence_occurrence": Access(OWNERS_AGENDA),
    # Agendas and RDVs: the lists show what each may open; the owner's RDV, those who open its agenda.
    "rendezvous:agenda": Access(
        allowed(*AGENTS, **{actor: redirect("rendezvous:agenda_agent") for actor in AGENTS}), writes=False
    ),
    "rendezvous:agenda_secretariat": Access(EVERY_AGENT, writes=False),
    "rendezvous:agenda_agent": Access(OWNERS_AGENDA, writes=False),
    "rendezvous:list": Access(EVERY_AGENT, writes=False),
    # Every agent books, in the agendas it may open: the payload books in the owner's agenda, a
    # motif of the PMI; the others' POST of it books nothing.
    "rendezvous:create": Access(EVERY_AGENT, writers=frozenset(OWNERS_READERS)),
    "rendezvous:creneaux": Access(EVERY_AGENT, writers=frozenset(OWNERS_READERS)),
    "rendezvous:usager_picker": Access(EVERY_AGENT, writes=False),
    "rendezvous:detail": Access(OWNERS_AGENDA, writes=False),
    "rendezvous:update": Access(OWNERS_AGENDA),
    # POST only, checked first: every agent meets the 405 on GET; its POST is the RDV's guard's.
    "rendezvous:status": post_only(OWNERS_AGENDA, **dict.fromkeys(AGENTS, POST_ONLY)),
    "rendezvous:delete": Access(OWNERS_AGENDA),
    # POST only, checked first; the ticked RDVs are checked as a whole: one the agent may not
    # change refuses the form (422) and changes nothing.
    "rendezvous:bulk_status": post_only(
        OWNERS_AGENDA,
        writes=False,
        **dict.fromkeys(AGENTS, POST_ONLY),
    ),
    # « Vos statistiques »: every agent's own figures, in each of its organisations.
    "stats:mine": Access(EVERY_AGENT, writes=False),
    "stats:organisation": Access(SETTINGS, writes=False),
    "stats:table_export": Access(SETTINGS, writes=False),
    # POST only, checked after the settings' guard (see agents:resend_invitation).
    "stats:rdv_export_create": post_only(SETTINGS),
    # An export is for the agent who asked for it (the organisation's admin) only.
    "stats:rdv_export": Access(SETTINGS_OF_AN_OBJECT, writes=False),
    "stats:rdv_export_download": Access(SETTINGS_OF_AN_OBJECT, writes=False),
    # The territory's figures: its administrators, each through an organisation of its territory.
    "stats:territory": Access(TERRITORY, writes=False),
    "stats:territory_table_export": Access(TERRITORY, writes=False),
    # Twilio's receipts: only a request signed with the account's token (tests/notifications/
    # test_receipts.py signs one); nobody here can.
    "notifications:twilio_status": Access(answers(POST_ONLY), writers=frozenset(), writes=False),
    # The public side. The booking's last steps, then the usager's own pages.
    "reservation:informations": Access(
        BOOKING_STEP, writes=False, why="keeps the answers in the usager's session, writes no row"
    ),
    # Before « Vos informations » are given, back there.
    "reservation:verify": Access(
        {**BOOKING_STEP, **answers(IDENTITY, **dict.fromkeys(USAGERS, redirect("reservation:informations")))},
        writers=frozenset(USAGERS),
        writes=False,
        why="books with what « informations » left in the session and the page's token: "
        "tests/reservation/test_booking_flow.py walks the steps; the refusal comes before both are read",
    ),
    "reservation:confirmation": Access(answers(IDENTITY, usager=OK, other_usager=NOT_FOUND), writes=False),
    "reservation:rdv_ics": Access(answers(NOT_FOUND, usager=OK), writes=False),
    "reservation:my_rdvs": Access(USAGER_SPACE, writes=False),
    "reservation:cancel": Access(USAGERS_OWN),
    "reservation:move": Access(USAGERS_OWN),
    # The link of the messages: its token and the first letters of the name are the key, whoever
    # types them; « Annuler » and « Déplacer » only once they were given on this device.
    # The usager gave them on its device (tests/access_world.py), nobody else did.
    "reservation:rdv_link": Access(PUBLIC, writes=False, why="the letters' check keeps its result in the session"),
    "reservation:rdv_link_cancel": Access(answers(LINK_CHECK, usager=OK)),
    "reservation:rdv_link_move": Access(answers(LINK_CHECK, usager=OK)),
    "reservation:profile": Access(USAGER_SPACE),
    "reservation:proche_create": Access(USAGER_SPACE),
    "reservation:proche_edit": Access(USAGERS_OWN),
    "reservation:email_change": Access(USAGER_SPACE),
    "reservation:organisation_link": Access(answers(redirect("reservation:home")), writes=False),
    "reservation:online_booking": Access(SETTINGS, writes=False),
    "reservation:home": Access(PUBLIC, writes=False),
    # The first steps, with the answers of the earlier ones (tests/access_world.py): anybody.
    "reservation:street": Access(PUBLIC, writes=False),
    # One service offered there: the question is skipped.
    "reservation:services": Access(answers(redirect("reservation:motifs")), writes=False),
    "reservation:motifs": Access(PUBLIC, writes=False),
    "reservation:lieux": Access(PUBLIC, writes=False),
    "reservation:creneaux": Access(PUBLIC, writes=False),
    "reservation:identity": Access(
        answers(OK, usager=redirect("reservation:my_rdvs"), other_usager=redirect("reservation:my_rdvs")),
        writers=frozenset(ACTORS),
        writes=False,
        why="open to all: nobody to refuse",
    ),
    "reservation:login": Access(
        answers(OK, usager=redirect("reservation:my_rdvs"), other_usager=redirect("reservation:my_rdvs")),
        writers=frozenset(ACTORS),
        writes=False,
        why="open to all: nobody to refuse",
    ),
    "reservation:code": Access(
        answers(USAGER_LOGIN, usager=redirect("reservation:my_rdvs"), other_usager=redirect("reservation:my_rdvs")),
        writers=frozenset(ACTORS),
        writes=False,
    ),
    "reservation:logout": post_only(PUBLIC, writes=False),
}


# Two families are declared as groups, each with its reason; all of their patterns are walked.
# The Django admin (`admin/…`): `admin_view` refuses anybody who is not staff before any view code
# runs, and no actor of the matrix is staff: a login page (the agents' one first for those not
# signed in as agents, LoginRequiredMiddleware) is all they get, but on the admin's login page.
ADMIN_GROUP = "admin/"
ANY_LOGIN = f"{LOGIN} or {ADMIN_LOGIN}"
ADMIN_GROUP_ANSWERS = answers(ANY_LOGIN)
ADMIN_GROUP_EXCEPTIONS = {
    "admin:login": answers(OK),
    "admin:logout": answers(f"{ADMIN_LOGIN} or {redirect('admin:index')}"),
}
# django-anymail's webhooks (notifications/urls.py): they do not exist without a webhook secret,
# which the tests do not set; with one, anymail's basic authentication refuses anybody else.
ANYMAIL_GROUP = "notifications:anymail:"
ANYMAIL_GROUP_ANSWERS = answers(NOT_FOUND)


def group_answers(pattern_name: str, route: str) -> dict[str, str] | None:
    """The answers of a pattern declared by its group, or None when it is declared alone."""
    if route.startswith(ADMIN_GROUP):
        return ADMIN_GROUP_EXCEPTIONS.get(pattern_name, ADMIN_GROUP_ANSWERS)
    if pattern_name.startswith(ANYMAIL_GROUP):
        return ANYMAIL_GROUP_ANSWERS
    return None


def matches(expected: str, observed: str) -> bool:
    return observed in expected.split(" or ")
