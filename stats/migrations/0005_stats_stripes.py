"""The summary's rows split into stripes (stats/models.py): each connection counts into the
stripe of its server process, so that transactions counting into the same figure at once (many
usagers booking the same motif) do not wait for each other's commit. The triggers' functions
are those of 0002_summary_triggers, with the stripe in each row they write."""

import re
from importlib import import_module

from django.conf import settings
from django.db import migrations, models


STRIPED = """
-- The stripe a connection counts into: its server process's, among stats.models.STRIPES (16).
CREATE FUNCTION stats_stripe() RETURNS smallint LANGUAGE sql STABLE AS $$
    SELECT (pg_backend_pid() % 16)::smallint
$$;

CREATE OR REPLACE FUNCTION stats_count_rdv(
    r rendezvous_rdv, p_agent bigint, p_delta integer, p_month boolean, p_status boolean, p_day boolean
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_tz text;
    v_id bigint;
    v_count integer;
BEGIN
    p_day := p_day AND r.status = 'unknown';
    IF p_month OR p_day THEN
        v_tz := stats_tz(r.organisation_id);
    END IF;
    IF p_month THEN
        INSERT INTO stats_rdvmonthcount AS s (organisation_id, agent_id, month, motif_id, lieu_id, created_by, count, stripe)
        VALUES (
            r.organisation_id, p_agent, date_trunc('month', r.created_at AT TIME ZONE v_tz)::date,
            r.motif_id, r.lieu_id, r.created_by, p_delta, stats_stripe()
        )
        ON CONFLICT (organisation_id, agent_id, month, motif_id, lieu_id, created_by, stripe)
        DO UPDATE SET count = s.count + EXCLUDED.count
        RETURNING s.id, s.count INTO v_id, v_count;
        IF v_count = 0 THEN
            DELETE FROM stats_rdvmonthcount WHERE id = v_id;
        END IF;
    END IF;
    IF p_status THEN
        INSERT INTO stats_rdvstatuscount AS s (organisation_id, agent_id, motif_id, lieu_id, status, count, stripe)
        VALUES (r.organisation_id, p_agent, r.motif_id, r.lieu_id, r.status, p_delta, stats_stripe())
        ON CONFLICT (organisation_id, agent_id, motif_id, lieu_id, status, stripe)
        DO UPDATE SET count = s.count + EXCLUDED.count
        RETURNING s.id, s.count INTO v_id, v_count;
        IF v_count = 0 THEN
            DELETE FROM stats_rdvstatuscount WHERE id = v_id;
        END IF;
    END IF;
    IF p_day THEN
        INSERT INTO stats_rdvunknowndaycount AS s (organisation_id, agent_id, day, motif_id, lieu_id, count, stripe)
        VALUES (
            r.organisation_id, p_agent, (r.starts_at AT TIME ZONE v_tz)::date, r.motif_id, r.lieu_id, p_delta,
            stats_stripe()
        )
        ON CONFLICT (organisation_id, agent_id, day, motif_id, lieu_id, stripe)
        DO UPDATE SET count = s.count + EXCLUDED.count
        RETURNING s.id, s.count INTO v_id, v_count;
        IF v_count = 0 THEN
            DELETE FROM stats_rdvunknowndaycount WHERE id = v_id;
        END IF;
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION stats_count_usager(p_organisation bigint, p_created_at timestamptz, p_delta integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_count integer;
BEGIN
    INSERT INTO stats_usagermonthcount AS s (organisation_id, month, count, stripe)
    VALUES (
        p_organisation, date_trunc('month', p_created_at AT TIME ZONE stats_tz(p_organisation))::date, p_delta,
        stats_stripe()
    )
    ON CONFLICT (organisation_id, month, stripe) DO UPDATE SET count = s.count + EXCLUDED.count
    RETURNING s.id, s.count INTO v_id, v_count;
    IF v_count = 0 THEN
        DELETE FROM stats_usagermonthcount WHERE id = v_id;
    END IF;
END
$$;
"""


def _former_functions() -> list[str]:
    """0002's two counting functions as it created them, to create them again (not written twice)."""
    former = import_module("stats.migrations.0002_summary_triggers").FUNCTIONS
    return [
        re.search(rf"CREATE FUNCTION {name}\(.*?\n\$\$;\n", former, re.S).group(0).replace(
            "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"
        )
        for name in ("stats_count_rdv", "stats_count_usager")
    ]


# Back to 0002's functions, every figure first gathered into stripe 0 (stats_rebuild, and the
# rows of deleted organisations dropped) so that the former unique constraints hold again once
# the stripes are removed.
UNSTRIPED = (
    """
SELECT stats_rebuild(id) FROM organisations_organisation ORDER BY id;
-- The rows of organisations that no longer exist, as `stats_summary --rebuild` drops them.
DELETE FROM stats_rdvmonthcount WHERE organisation_id NOT IN (SELECT id FROM organisations_organisation);
DELETE FROM stats_rdvstatuscount WHERE organisation_id NOT IN (SELECT id FROM organisations_organisation);
DELETE FROM stats_rdvunknowndaycount WHERE organisation_id NOT IN (SELECT id FROM organisations_organisation);
DELETE FROM stats_usagermonthcount WHERE organisation_id NOT IN (SELECT id FROM organisations_organisation);

"""
    + "\n".join(_former_functions())
    + """
DROP FUNCTION stats_stripe();
"""
)


class Migration(migrations.Migration):

    dependencies = [
        ('motifs', '0004_discretion'),
        ('organisations', '0004_usager_cancel_limit'),
        ('stats', '0004_export_storage'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='rdvmonthcount',
            name='stats_rdv_month_unique',
        ),
        migrations.RemoveConstraint(
            model_name='rdvstatuscount',
            name='stats_rdv_status_unique',
        ),
        migrations.RemoveConstraint(
            model_name='rdvunknowndaycount',
            name='stats_rdv_unknown_day_unique',
        ),
        migrations.RemoveConstraint(
            model_name='usagermonthcount',
            name='stats_usager_month_unique',
        ),
        migrations.AddField(
            model_name='rdvmonthcount',
            name='stripe',
            field=models.PositiveSmallIntegerField(db_default=0, default=0, verbose_name='bande'),
        ),
        migrations.AddField(
            model_name='rdvstatuscount',
            name='stripe',
            field=models.PositiveSmallIntegerField(db_default=0, default=0, verbose_name='bande'),
        ),
        migrations.AddField(
            model_name='rdvunknowndaycount',
            name='stripe',
            field=models.PositiveSmallIntegerField(db_default=0, default=0, verbose_name='bande'),
        ),
        migrations.AddField(
            model_name='usagermonthcount',
            name='stripe',
            field=models.PositiveSmallIntegerField(db_default=0, default=0, verbose_name='bande'),
        ),
        migrations.AddConstraint(
            model_name='rdvmonthcount',
            constraint=models.UniqueConstraint(fields=('organisation', 'agent', 'month', 'motif', 'lieu', 'created_by', 'stripe'), name='stats_rdv_month_unique', nulls_distinct=False),
        ),
        migrations.AddConstraint(
            model_name='rdvstatuscount',
            constraint=models.UniqueConstraint(fields=('organisation', 'agent', 'motif', 'lieu', 'status', 'stripe'), name='stats_rdv_status_unique', nulls_distinct=False),
        ),
        migrations.AddConstraint(
            model_name='rdvunknowndaycount',
            constraint=models.UniqueConstraint(fields=('organisation', 'agent', 'day', 'motif', 'lieu', 'stripe'), name='stats_rdv_unknown_day_unique', nulls_distinct=False),
        ),
        migrations.AddConstraint(
            model_name='usagermonthcount',
            constraint=models.UniqueConstraint(fields=('organisation', 'month', 'stripe'), name='stats_usager_month_unique'),
        ),
        migrations.RunSQL(STRIPED, reverse_sql=UNSTRIPED),
    ]
