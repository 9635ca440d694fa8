"""Forms of the RDV pages: « modifier » (with the conflict check) and the filters of « Tous les RDVs »."""

import datetime as dt
import hashlib
from dataclasses import dataclass

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agents.models import Agent
from motifs.models import Motif
from organisations.models import Lieu, Service
from planning.models import Absence, Window
from rdv.forms import DsfrForm
from rendezvous.models import Rdv
from usagers.models import Usager

MAX_PAST_MOVE = dt.timedelta(hours=48)


@dataclass(frozen=True)
class Conflict:
    agent: Agent
    text: str


def find_conflicts(rdv: Rdv, organisation, agents, starts_at: dt.datetime, ends_at: dt.datetime) -> list[Conflict]:
    """What keeps one of `agents` busy between `starts_at` and `ends_at`: another RDV that holds
    time (not cancelled) or an absence of the organisation's planning."""
    tz = organisation.tzinfo
    conflicts = []
    window = Window(starts_at, ends_at)
    for agent in agents:
        others = (
            Rdv.objects.holding_time()
            .overlapping(starts_at, ends_at)
            .filter(agents=agent)
            .exclude(pk=rdv.pk)
            .select_related("motif")
        )
        for other in others:
            conflicts.append(
                Conflict(
                    agent,
                    _("%(agent)s a déjà un RDV « %(motif)s » le %(day)s de %(start)s à %(end)s.")
                    % {
                        "agent": agent.full_name,
                        "motif": other.motif.name,
                        "day": f"{timezone.localtime(other.starts_at, tz):%d/%m/%Y}",
                        "start": f"{timezone.localtime(other.starts_at, tz):%H:%M}",
                        "end": f"{timezone.localtime(other.ends_at, tz):%H:%M}",
                    },
                )
            )
        for occurrence in Absence.objects.for_organisation(organisation).for_agent(agent).occurrences(window):
            if occurrence.start < ends_at and occurrence.end > starts_at:
                conflicts.append(
                    Conflict(
                        agent,
                        _("%(agent)s est absent(e) (« %(title)s ») du %(start)s au %(end)s.")
                        % {
                            "agent": agent.full_name,
                            "title": occurrence.event.title,
                            "start": f"{timezone.localtime(occurrence.start, tz):%d/%m/%Y %H:%M}",
                            "end": f"{timezone.localtime(occurrence.end, tz):%d/%m/%Y %H:%M}",
                        },
                    )
                )
    return conflicts


class RdvForm(DsfrForm):
    """« modifier »: what the creation form set. Conflicts (another RDV, an absence) are a warning
    the agent confirms with « Confirmer malgré le conflit »; the check runs on every POST."""

    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    time = forms.TimeField(label=_("Heure"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    duration_in_min = forms.IntegerField(
        label=_("Durée en minutes"),
        min_value=1,
        max_value=24 * 60,
        error_messages={"min_value": _("Un RDV ne peut pas durer 0 minute.")},
    )
    lieu = forms.ModelChoiceField(label=_("Lieu"), queryset=Lieu.objects.none(), required=False)
    agents = forms.ModelMultipleChoiceField(
        label=_("Agents"),
        queryset=Agent.objects.none(),
        help_text=_("Ctrl (ou Cmd) + clic pour en sélectionner plusieurs."),
    )
    usagers = forms.ModelMultipleChoiceField(
        label=_("Usagers"),
        queryset=Usager.objects.none(),
        help_text=_("Ctrl (ou Cmd) + clic pour en sélectionner plusieurs."),
    )
    context = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    confirm = forms.BooleanField(label=_("Confirmer malgré le conflit"), required=False)
    # The conflicts the agent saw when it ticked « Confirmer malgré le conflit »: a new one
    # (another RDV booked meanwhile) asks for a new confirmation.
    conflicts_signature = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, rdv: Rdv, organisation, now: dt.datetime | None = None, **kwargs):
        self.rdv = rdv
        self.organisation = organisation
        self.now = now or timezone.now()
        self.conflicts: list[Conflict] = []
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
                "context": rdv.context,
            },
        )
        super().__init__(*args, **kwargs)
        lieux = Lieu.objects.for_organisation(organisation).active()
        if rdv.lieu_id:
            lieux = lieux | Lieu.objects.filter(pk=rdv.lieu_id)
        self.fields["lieu"].queryset = lieux.distinct().order_by("name")
        self.fields["lieu"].required = rdv.motif.location_type == Motif.LocationType.PUBLIC_OFFICE
        self.fields["agents"].queryset = Agent.objects.for_organisation(organisation).order_by(
            "last_name", "first_name"
        )
        self.fields["usagers"].queryset = Usager.objects.visible_in(organisation).alphabetical()
        self.fields["usagers"].widget.attrs["size"] = 8
        self.fields["agents"].widget.attrs["size"] = 6

    def clean(self):
        data = super().clean()
        day, time, duration = data.get("date"), data.get("time"), data.get("duration_in_min")
        if day is None or time is None or not duration:
            return data
        starts_at = dt.datetime.combine(day, time, tzinfo=self.organisation.tzinfo)
        if starts_at == self.rdv.starts_at.replace(second=0, microsecond=0):
            starts_at = self.rdv.starts_at  # not moved (the form shows minutes only)
        elif starts_at < self.now - MAX_PAST_MOVE:
            self.add_error("date", _("Un RDV ne peut pas être déplacé plus de 48 heures dans le passé."))
            return data
        data["starts_at"] = starts_at
        agents = data.get("agents")
        if agents:
            ends_at = starts_at + dt.timedelta(minutes=duration)
            self.conflicts = find_conflicts(self.rdv, self.organisation, agents, starts_at, ends_at)
            confirmed = data.get("confirm") and data.get("conflicts_signature") == self.current_signature
            if self.conflicts and not confirmed:
                if data.get("confirm"):
                    # Confirmed for other conflicts: the agent confirms again what it now sees.
                    self.data = self.data.copy()
                    self.data.pop("confirm", None)
                self.add_error(
                    "confirm",
                    _("Créneau en conflit : cochez « Confirmer malgré le conflit » pour enregistrer."),
                )
        return data

    @property
    def current_signature(self) -> str:
        texts = "\n".join(sorted(str(conflict.text) for conflict in self.conflicts))
        return hashlib.sha256(texts.encode()).hexdigest()[:16]


STATUS_FILTERS = {
    "a_venir": _("À venir"),
    "a_renseigner": _("À renseigner"),
    Rdv.Status.WAITING: Rdv.Status.WAITING.label,
    Rdv.Status.SEEN: Rdv.Status.SEEN.label,
    Rdv.Status.EXCUSED: Rdv.Status.EXCUSED.label,
    Rdv.Status.NOSHOW: Rdv.Status.NOSHOW.label,
    Rdv.Status.REVOKED: Rdv.Status.REVOKED.label,
}


class RdvFilterForm(DsfrForm):
    """The filters of « Tous les RDVs ». Every field is optional; a wrong value is ignored."""

    statut = forms.ChoiceField(label=_("Statut"), required=False)
    agent = forms.ModelChoiceField(label=_("Agent"), queryset=Agent.objects.none(), required=False)
    service = forms.ChoiceField(label=_("Service"), required=False)
    motif = forms.ModelChoiceField(label=_("Motif"), queryset=Motif.objects.none(), required=False)
    lieu = forms.ModelChoiceField(label=_("Lieu"), queryset=Lieu.objects.none(), required=False)
    du = forms.DateField(
        label=_("Du"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    au = forms.DateField(
        label=_("Au"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    usager = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, membership, **kwargs):
        super().__init__(*args, **kwargs)
        from agents.permissions import agents_with_visible_agenda

        organisation = membership.organisation
        self.fields["statut"].choices = [("", _("Tous les statuts")), *STATUS_FILTERS.items()]
        self.fields["agent"].queryset = agents_with_visible_agenda(membership).order_by("last_name", "first_name")
        motifs = Motif.objects.for_organisation(organisation).select_related("service").order_by("name")
        self.fields["motif"].queryset = motifs
        self.fields["lieu"].queryset = Lieu.objects.for_organisation(organisation).order_by("name")
        services = Service.objects.filter(motifs__organisation=organisation).distinct().order_by("name")
        self.fields["service"].choices = [("", _("Tous les services"))] + [(str(s.pk), s.name) for s in services]
        for field in ("agent", "motif", "lieu"):
            self.fields[field].empty_label = _("Tous")

    def filter(self, queryset, now: dt.datetime):
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        status = data.get("statut")
        if status == "a_venir":
            queryset = queryset.filter(status=Rdv.Status.UNKNOWN, starts_at__gte=now)
        elif status == "a_renseigner":
            queryset = queryset.filter(status=Rdv.Status.UNKNOWN, starts_at__lt=now)
        elif status:
            queryset = queryset.filter(status=status)
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
