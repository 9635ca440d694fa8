"""Services become part of each membership (AgentRole): one organisation's admin could change an
agent's services, and so its rights, in every other organisation. Each existing membership gets
the services the agent had (the only faithful reading of the old data); going back gives each
agent the union of its memberships' services."""

import django.db.models.functions.text
from django.db import migrations, models


def copy_services_to_memberships(apps, schema_editor):
    Agent = apps.get_model("agents", "Agent")
    AgentRole = apps.get_model("agents", "AgentRole")
    through = AgentRole.services.through
    agent_services: dict[int, list[int]] = {}
    for agent_id, service_id in Agent.services.through.objects.values_list("agent_id", "service_id"):
        agent_services.setdefault(agent_id, []).append(service_id)
    rows = [
        through(agentrole_id=role_id, service_id=service_id)
        for role_id, agent_id in AgentRole.objects.values_list("pk", "agent_id")
        for service_id in agent_services.get(agent_id, [])
    ]
    through.objects.bulk_create(rows, batch_size=1000)


def copy_services_back_to_agents(apps, schema_editor):
    Agent = apps.get_model("agents", "Agent")
    AgentRole = apps.get_model("agents", "AgentRole")
    through = Agent.services.through
    pairs = set(AgentRole.services.through.objects.values_list("agentrole__agent_id", "service_id"))
    through.objects.bulk_create(
        [through(agent_id=agent_id, service_id=service_id) for agent_id, service_id in sorted(pairs)],
        batch_size=1000,
    )


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0002_invitations'),
        ('organisations', '0003_close_on_public_holidays'),
    ]

    operations = [
        migrations.AddField(
            model_name='agentrole',
            name='services',
            field=models.ManyToManyField(blank=True, related_name='agent_roles', to='organisations.service', verbose_name='services'),
        ),
        migrations.RunPython(copy_services_to_memberships, copy_services_back_to_agents),
        migrations.RemoveField(
            model_name='agent',
            name='services',
        ),
        migrations.RemoveConstraint(
            model_name='agentinvitation',
            name='agent_invitation_one_pending_per_email',
        ),
        migrations.AddField(
            model_name='agentinvitation',
            name='declined_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='refusée le'),
        ),
        migrations.AddConstraint(
            model_name='agentinvitation',
            constraint=models.UniqueConstraint(models.F('organisation'), django.db.models.functions.text.Lower('email'), condition=models.Q(('accepted_at__isnull', True), ('cancelled_at__isnull', True), ('declined_at__isnull', True)), name='agent_invitation_one_pending_per_email', violation_error_message='Une invitation est déjà en attente pour cette adresse e-mail.'),
        ),
        migrations.AddConstraint(
            model_name='agentinvitation',
            constraint=models.CheckConstraint(condition=models.Q(('declined_at__isnull', True), models.Q(('accepted_at__isnull', True), ('cancelled_at__isnull', True)), _connector='OR'), name='agent_invitation_declined_is_final', violation_error_message='Une invitation refusée ne peut être ni acceptée ni annulée.'),
        ),
    ]
