"""Forms of the RDV pages: the date, time, lieu and agents of an RDV with the conflict warning
(shared by « modifier » and the creation in rendezvous/booking_forms.py; the check itself is
rendezvous.conflicts), and the filters of « Tous les RDVs »."""

import datetime as dt
from typing import Any, cast

from django import forms
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agents.models import Agent, AgentQuerySet
from agents.permissions import Membership, agents_with_visible_agenda
from motifs.models import Motif
from organisations.models import Lieu, Organisation
from planning.intervals import end_after
from rdv.forms import DsfrForm, ListedChoiceIterator, MinutesField, field_of
from rendezvous.agenda.queries import filter_choices
from rendezvous.conflicts import Conflict, conflicts_signature, find_conflicts
from rendezvous.models import Rdv, displayed_statuses
from usagers.models import Usager

MAX_PAST_MOVE = dt.timedelta(hours=48)
# Far enough for any real RDV; a date beyond is a typo (and 31/12/9999 would overflow).
MAX_AHEAD = dt.timedelta(days=5 * 365)


class AgentsWidget(forms.CheckboxSelectMultiple):
    """The agents of an RDV as checkboxes, grouped by service, the ticked ones first in their own
    group. static/js/agents_search.js adds the search bar « Rechercher un agent » above them;
    without JavaScript the full list stays usable."""

    template_name = "rendezvous/widgets/agents.html"
    option_template_name = "rendezvous/widgets/agent_option.html"

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        agent = getattr(value, "instance", None)
        option["services"] = ", ".join(service["name"] for service in agent.services_here) if agent else ""
        return option

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        options = [option for _group, group_options, _index in widget["optgroups"] for option in group_options]
        by_services: dict[str, list[dict]] = {}
        for option in options:
            by_services.setdefault(option["services"], []).append(option)
        # Every service keeps its group, even when all its agents are ticked: the script moves an
        # agent unticked back there.
        groups = []
        for number, services in enumerate(sorted(by_services, key=lambda services: (not services, services))):
            group_id = f"{widget['attrs'].get('id', name)}-groupe-{number}"
            for option in by_services[services]:
                option["group_id"] = group_id
            unticked = [option for option in by_services[services] if not option["selected"]]
            groups.append({"id": group_id, "label": services or _("Sans service"), "options": unticked})
        widget["ticked"] = [option for option in options if option["selected"]]
        widget["groups"] = groups
        return context


class AgentChoiceIterator(ListedChoiceIterator):
    def __init__(self, field):
        super().__init__(field)
        # The services label and group the choices: the agents' services in the field's
        # organisation, read with the agents (their services elsewhere don't count here).
        self.queryset = cast(AgentQuerySet, self.queryset).with_services_in(field.organisation)


class AgentsChoiceField(forms.ModelMultipleChoiceField):
    """« Cliquez dans la barre de recherche « agents » afin de sélectionner le ou les agents qui
    effectueront le rendez-vous »: the agents of an RDV, for its creation and « modifier »."""

    widget = AgentsWidget
    iterator = AgentChoiceIterator
    template_name = "rendezvous/widgets/agents_field.html"
    # Set by the form: the organisation whose services label the agents.
    organisation: Organisation | None = None

    def label_from_instance(self, obj: Agent) -> str:
        return obj.full_name or obj.email


def home_address_field(field_class: type[forms.CharField] = forms.CharField, **kwargs: Any) -> forms.CharField:
    """« Adresse du domicile » of an RDV at home: the same words and length on every form."""
    return field_class(
        label=_("Adresse du domicile"),
        max_length=300,
        help_text=_("Le RDV a lieu au domicile de l'usager."),
        error_messages={"required": _("Indiquez l'adresse du domicile de l'usager.")},
        **kwargs,
    )


# An RDV lasts a day at most (Rdv's duration constraint holds the same).
MAX_DURATION_IN_MIN = 24 * 60


def duration_field() -> forms.IntegerField:
    return MinutesField(
        label=_("Durée en minutes"),
        min_value=1,
        max_value=MAX_DURATION_IN_MIN,
        error_messages={"min_value": _("Un RDV ne peut pas durer 0 minute.")},
    )


class RdvScheduleForm(DsfrForm):
    """What creating an RDV and « modifier » share: date, time, duration, lieu and agents, with
    their rules. An RDV lasts at least a minute and cannot start more than 48 hours in the past.
    Conflicts (another RDV, an absence, time outside the plages) are a warning the agent confirms
    with « Confirmer malgré le conflit »; the check runs on every POST, and a confirmation given
    for other conflicts than those found now (another RDV booked meanwhile) is asked again.
    The save checks once more, under a lock on the agents (rendezvous.services): pass it
    `current_signature`, the conflicts the agent accepted, and `conflicts_changed` what it found."""

    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    time = forms.TimeField(label=_("Heure"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    duration_in_min = duration_field()
    lieu = forms.ModelChoiceField(label=_("Lieu"), queryset=Lieu.objects.none(), required=False)
    agents = AgentsChoiceField(
        label=_("Agents"),
        queryset=Agent.objects.none(),
        help_text=_("Le ou les agents qui effectueront le rendez-vous."),
        error_messages={
            "required": _("Choisissez au moins un agent."),
            "invalid_choice": _("Cet agent n'existe pas ou vous ne pouvez pas lui poser de RDV."),
            "invalid_pk_value": _("Cet agent n'existe pas ou vous ne pouvez pas lui poser de RDV."),
        },
    )
    confirm = forms.BooleanField(label=_("Confirmer malgré le conflit"), required=False)
    # The conflicts the agent saw when it ticked « Confirmer malgré le conflit »: a new one
    # (another RDV booked meanwhile) asks for a new confirmation.
    conflicts_signature = forms.CharField(required=False, widget=forms.HiddenInput)

    too_far_in_past_message = _("Un RDV ne peut pas être créé plus de 48 heures dans le passé.")

    def __init__(
        self, *args, organisation, motif: Motif, rdv: Rdv | None = None, now: dt.datetime | None = None, **kwargs
    ):
        self.organisation = organisation
        self.motif = motif
        self.rdv = rdv
        self.now = now or timezone.now()
        self.conflicts: list[Conflict] = []
        super().__init__(*args, **kwargs)
        field_of(self, "agents", AgentsChoiceField).organisation = organisation
        lieu = field_of(self, "lieu", forms.ModelChoiceField)
        lieu.queryset = Lieu.objects.for_organisation(organisation).active().order_by("name")
        lieu.required = motif.location_type == Motif.LocationType.PUBLIC_OFFICE
        lieu.error_messages["required"] = _("Choisissez le lieu du RDV.")

    def check_starts_at(self, starts_at: dt.datetime) -> dt.datetime | None:
        """The start to save, or None after adding the error on the date."""
        if starts_at < self.now - MAX_PAST_MOVE:
            self.add_error("date", self.too_far_in_past_message)
            return None
        if starts_at > self.now + MAX_AHEAD:
            self.add_error("date", _("Un RDV ne peut pas être posé plus de cinq ans à l'avance."))
            return None
        return starts_at

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        day, time, duration = data.get("date"), data.get("time"), data.get("duration_in_min")
        if day is None or time is None or not duration:
            return data
        starts_at = self.check_starts_at(dt.datetime.combine(day, time, tzinfo=self.organisation.tzinfo))
        if starts_at is None:
            return data
        data["starts_at"] = starts_at
        agents = data.get("agents")
        if agents:
            ends_at = end_after(starts_at, duration)
            self.conflicts = find_conflicts(self.rdv, self.organisation, agents, starts_at, ends_at)
            confirmed = data.get("confirm") and data.get("conflicts_signature") == self.current_signature
            if self.conflicts and not confirmed:
                if data.get("confirm"):
                    # Confirmed for other conflicts: the agent confirms again what it now sees.
                    self._forget_confirmation()
                self.add_error(
                    "confirm",
                    _("Créneau en conflit : cochez « Confirmer malgré le conflit » pour enregistrer."),
                )
        return data

    def _forget_confirmation(self) -> None:
        """The box shows unticked again: the agent confirms what it now sees."""
        data = cast(QueryDict, self.data).copy()
        data.pop("confirm", None)
        self.data = data

    @property
    def current_signature(self) -> str:
        """Once the form is valid: the conflicts the agent accepted (none, or those it confirmed)."""
        return conflicts_signature(self.conflicts)

    def conflicts_changed(self, conflicts: list[Conflict]) -> None:
        """The save found other conflicts than those accepted (another RDV booked after this form
        was checked): nothing was saved; show them and ask for a new confirmation."""
        self.conflicts = conflicts
        self._forget_confirmation()
        self.add_error(
            "confirm",
            _(
                "Un conflit est apparu pendant l'enregistrement : rien n'a été enregistré. "
                "Cochez « Confirmer malgré le conflit » pour enregistrer malgré tout."
            ),
        )


class RdvForm(RdvScheduleForm):
    """« modifier »: what the creation form set, with the same checks.

    The agents offered are those the creation offers (agents_with_visible_agenda), plus the RDV's
    current agents: a basic agent may change an RDV it shares with an agent of another service
    (can_change_rdv), and moving it must not force it to drop that colleague (nor an agent who
    left the organisation since). It may keep or remove them, never add one it could not book."""

    # Chosen with the live search of the creation (rendezvous/booking/_usagers_picker.html): an
    # organisation's usagers are far too many for a list.
    usagers = forms.ModelMultipleChoiceField(
        label=_("Usagers"),
        queryset=Usager.objects.none(),
        widget=forms.MultipleHiddenInput,
        error_messages={
            "required": _("Choisissez au moins un usager : tapez son nom dans le champ « Usagers »."),
            "invalid_choice": _("Cet usager n'existe pas ou n'est pas connu de votre organisation."),
            "invalid_pk_value": _("Cet usager n'existe pas ou n'est pas connu de votre organisation."),
        },
    )
    address = home_address_field()
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    # The seed: « La modification du rendez-vous n'est pas notifiée à l'usager de manière
    # automatique » — the agent chooses, the default being silence.
    notify_usagers = forms.BooleanField(
        label=_("Prévenir les usagers de la modification par email et SMS"),
        help_text=_("Sinon, la modification ne leur est pas notifiée : pensez à les avertir."),
        required=False,
    )

    too_far_in_past_message = _("Un RDV ne peut pas être déplacé plus de 48 heures dans le passé.")

    def __init__(self, *args, rdv: Rdv, membership: Membership, now: dt.datetime | None = None, **kwargs):
        organisation = membership.organisation
        tz = organisation.tzinfo
        local = timezone.localtime(rdv.starts_at, tz)
        kwargs.setdefault(
            "initial",
            {
                "date": local.date(),
                "time": local.time().replace(second=0, microsecond=0),
                "duration_in_min": rdv.duration_in_min,
                "lieu": rdv.lieu_id,
                "agents": [agent.pk for agent in rdv.agents.all()],
                "usagers": [usager.pk for usager in rdv.usagers.all()],
                "address": rdv.address,
                "notes": rdv.notes,
            },
        )
        super().__init__(*args, organisation=organisation, motif=rdv.motif, rdv=rdv, now=now, **kwargs)
        lieux = Lieu.objects.for_organisation(organisation).active()
        if rdv.lieu_id:
            lieux = lieux | Lieu.objects.filter(pk=rdv.lieu_id)
        field_of(self, "lieu", forms.ModelChoiceField).queryset = lieux.distinct().order_by("name")
        current = [agent.pk for agent in rdv.agents.all()]
        visible = agents_with_visible_agenda(membership).values("pk")
        field_of(self, "agents", forms.ModelMultipleChoiceField).queryset = Agent.objects.filter(
            Q(pk__in=visible) | Q(pk__in=current)
        ).order_by("last_name", "first_name")
        field_of(self, "usagers", forms.ModelMultipleChoiceField).queryset = Usager.objects.visible_in(organisation)
        if rdv.motif.location_type != Motif.LocationType.HOME:
            del self.fields["address"]
        if rdv.motif.notifications_disabled or rdv.is_cancelled:
            del self.fields["notify_usagers"]

    def clean(self):
        data = super().clean()
        data.setdefault("address", "")  # only an RDV « à domicile » has one
        return data

    def check_starts_at(self, starts_at: dt.datetime) -> dt.datetime | None:
        assert self.rdv is not None
        if starts_at == self.rdv.starts_at.replace(second=0, microsecond=0):
            return self.rdv.starts_at  # not moved (the form shows minutes only)
        return super().check_starts_at(starts_at)


class RdvFilterForm(DsfrForm):
    """The filters of « Tous les RDVs ». Every field is optional; a wrong value is ignored.

    The list opens on today and the coming days, nearest first (« À venir »); « Passés » lists
    the earlier ones, the latest first, « Tous » every one. A list asked for an usager, a status
    or dates shows every time unless a period is chosen: those filters name the RDVs already."""

    UPCOMING, PAST, ALL = "a_venir", "passes", "tous"
    PERIODS = {UPCOMING: _("À venir"), PAST: _("Passés"), ALL: _("Tous")}

    periode = forms.ChoiceField(choices=list(PERIODS.items()), required=False, widget=forms.HiddenInput)
    statut = forms.ChoiceField(label=_("Statut"), required=False)
    # Ids (the filters only need them), their choices read as rows: model instances for a few
    # labels cost a third of the list's filters (about 2 of the page's 25 ms). A wrong value is
    # answered as a model choice's (not echoed back).
    agent = forms.TypedChoiceField(label=_("Agent"), coerce=int, empty_value=None, required=False)
    service = forms.TypedChoiceField(label=_("Service"), coerce=int, empty_value=None, required=False)
    motif = forms.TypedChoiceField(label=_("Motif"), coerce=int, empty_value=None, required=False)
    lieu = forms.TypedChoiceField(label=_("Lieu"), coerce=int, empty_value=None, required=False)
    du = forms.DateField(
        label=_("Du"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    au = forms.DateField(
        label=_("Au"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    usager = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, membership, **kwargs):
        super().__init__(*args, **kwargs)
        organisation = membership.organisation
        field_of(self, "statut", forms.ChoiceField).choices = [
            ("", _("Tous les statuts")),
            *displayed_statuses().items(),
        ]
        agents = agents_with_visible_agenda(membership).order_by("last_name", "first_name")
        listed = filter_choices(organisation)
        location_types = dict(Motif.LocationType.choices)
        agent_rows = list(agents.values_list("pk", "first_name", "last_name", "email"))
        # The agents whose agenda the membership may open: the list shows their RDVs only.
        self.visible_agent_ids = [pk for pk, _first, _last, _email in agent_rows]
        for name, empty, choices in (
            (
                "agent",
                _("Tous"),
                # Agent.__str__: its full name, else its email.
                [(pk, f"{first} {last}".strip() or email) for pk, first, last, email in agent_rows],
            ),
            ("service", _("Tous les services"), listed["service"]),
            (
                "motif",
                _("Tous"),
                # Motif.__str__: « name (location type) », the stored value when it has no label.
                [
                    (pk, f"{motif_name} ({location_types.get(location_type, location_type)})")
                    for pk, motif_name, location_type in listed["motif"]
                ],
            ),
            ("lieu", _("Tous"), listed["lieu"]),
        ):
            field = field_of(self, name, forms.TypedChoiceField)
            field.choices = [("", empty), *((str(pk), label) for pk, label in choices)]
            field.error_messages["invalid_choice"] = forms.ModelChoiceField.default_error_messages["invalid_choice"]

    def period(self) -> str:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        if data.get("periode"):
            return data["periode"]
        named = any(data.get(name) for name in ("usager", "statut", "du", "au"))
        return self.ALL if named else self.UPCOMING

    def listed(self, queryset, now: dt.datetime, tz) -> tuple[Any, dt.datetime]:
        """The RDVs of the filters and the period, in the period's order; with the start of
        today, which the « Aujourd'hui » anchor marks."""
        today = dt.datetime.combine(timezone.localtime(now, tz).date(), dt.time.min, tzinfo=tz)
        queryset = self.filter(queryset, now) if self.is_bound else queryset
        period = self.period()
        if period == self.UPCOMING:
            return queryset.filter(starts_at__gte=today).order_by("starts_at", "pk"), today
        if period == self.PAST:
            return queryset.filter(starts_at__lt=today).order_by("-starts_at", "-pk"), today
        return queryset.order_by("-starts_at", "pk"), today

    def filter(self, queryset, now: dt.datetime):
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        if data.get("statut"):
            queryset = queryset.reading(data["statut"], now)
        if data.get("agent"):
            queryset = queryset.filter(agents=data["agent"])
        if data.get("service"):
            queryset = queryset.filter(motif__service_id=data["service"])
        if data.get("motif"):
            queryset = queryset.filter(motif=data["motif"])
        if data.get("lieu"):
            queryset = queryset.filter(lieu=data["lieu"])
        tz = timezone.get_current_timezone()
        if data.get("du"):
            queryset = queryset.filter(starts_at__gte=dt.datetime.combine(data["du"], dt.time.min, tzinfo=tz))
        if data.get("au"):
            queryset = queryset.filter(
                starts_at__lt=dt.datetime.combine(data["au"] + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
            )
        if data.get("usager"):
            queryset = queryset.filter(usagers=data["usager"])
        return queryset
