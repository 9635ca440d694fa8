"""The summary's triggers: PostgreSQL keeps stats_* exact in the transaction of every change.

What changes a figure, and what the triggers do (stats/models.py says what each table holds):
- an RDV inserted or deleted: +1 / -1 in its rows (the `agent` NULL row and one per agent
  linked to it at that moment);
- an RDV updated: only when a column the figures read changes (organisation, motif, lieu,
  created_by, created_at, status, starts_at): -1 in its old rows, +1 in its new ones;
- an agent linked to or unlinked from an RDV (rendezvous_rdv_agents): +1 / -1 in that agent's
  rows. Django inserts the RDV before its links and deletes the links before the RDV, but the
  foreign keys are deferred: a link whose RDV is not there (yet, or any more) counts nothing, and
  the RDV's own trigger counts the links it finds. The link's trigger reads the RDV FOR SHARE
  (as rendezvous_rdv_agents_copy_rdv does): an RDV changed by a concurrent transaction waits for
  the link, or the link for it, so neither counts a stale version;
- an usager's profile opened, moved or deleted: ±1 in its organisation's month;
- the time zone of an organisation, or of its territory when the organisation has none of its
  own, changed: the organisation's rows are rebuilt (`stats_rebuild`), in the same transaction.

`stats_rebuild(organisation)` recomputes an organisation's rows from the `stats_expected_*`
functions, the direct counts that `python manage.py stats_summary --check` also compares with.
It locks the counted tables against writes (SHARE ROW EXCLUSIVE) so that no change made during
the rebuild is lost: seconds for the largest organisations, and only when a time zone changes
or an operator asks for it.

A row whose count reaches 0 is deleted. Months and days are cut in the organisation's time
zone, as Django's TruncMonth(tzinfo=…) and localdate() cut them.
"""

from django.db import migrations

FUNCTIONS = """
CREATE FUNCTION stats_tz(p_organisation bigint) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT COALESCE(NULLIF(o.time_zone, ''), t.time_zone)
    FROM organisations_organisation AS o
    JOIN organisations_territory AS t ON t.id = o.territory_id
    WHERE o.id = p_organisation
$$;

-- The direct counts: what the summary must hold for one organisation.
CREATE FUNCTION stats_expected_rdv_month(p_organisation bigint)
RETURNS TABLE (
    organisation_id bigint, agent_id bigint, month date, motif_id bigint, lieu_id bigint,
    created_by varchar, count integer
) LANGUAGE sql STABLE AS $$
    WITH rdv AS (
        SELECT r.id, r.organisation_id,
               date_trunc('month', r.created_at AT TIME ZONE (SELECT stats_tz(p_organisation)))::date AS month,
               r.motif_id, r.lieu_id, r.created_by
        FROM rendezvous_rdv AS r
        WHERE r.organisation_id = p_organisation
    )
    SELECT rdv.organisation_id, NULL::bigint, rdv.month, rdv.motif_id, rdv.lieu_id, rdv.created_by,
           count(*)::integer
    FROM rdv
    GROUP BY rdv.organisation_id, rdv.month, rdv.motif_id, rdv.lieu_id, rdv.created_by
    UNION ALL
    SELECT rdv.organisation_id, link.agent_id, rdv.month, rdv.motif_id, rdv.lieu_id, rdv.created_by,
           count(*)::integer
    FROM rdv JOIN rendezvous_rdv_agents AS link ON link.rdv_id = rdv.id
    GROUP BY rdv.organisation_id, link.agent_id, rdv.month, rdv.motif_id, rdv.lieu_id, rdv.created_by
$$;

CREATE FUNCTION stats_expected_rdv_status(p_organisation bigint)
RETURNS TABLE (
    organisation_id bigint, agent_id bigint, motif_id bigint, lieu_id bigint, status varchar, count integer
) LANGUAGE sql STABLE AS $$
    SELECT r.organisation_id, NULL::bigint, r.motif_id, r.lieu_id, r.status, count(*)::integer
    FROM rendezvous_rdv AS r
    WHERE r.organisation_id = p_organisation
    GROUP BY r.organisation_id, r.motif_id, r.lieu_id, r.status
    UNION ALL
    SELECT r.organisation_id, link.agent_id, r.motif_id, r.lieu_id, r.status, count(*)::integer
    FROM rendezvous_rdv AS r JOIN rendezvous_rdv_agents AS link ON link.rdv_id = r.id
    WHERE r.organisation_id = p_organisation
    GROUP BY r.organisation_id, link.agent_id, r.motif_id, r.lieu_id, r.status
$$;

CREATE FUNCTION stats_expected_rdv_unknown_day(p_organisation bigint)
RETURNS TABLE (
    organisation_id bigint, agent_id bigint, day date, motif_id bigint, lieu_id bigint, count integer
) LANGUAGE sql STABLE AS $$
    WITH rdv AS (
        SELECT r.id, r.organisation_id, (r.starts_at AT TIME ZONE (SELECT stats_tz(p_organisation)))::date AS day,
               r.motif_id, r.lieu_id
        FROM rendezvous_rdv AS r
        WHERE r.organisation_id = p_organisation AND r.status = 'unknown'
    )
    SELECT rdv.organisation_id, NULL::bigint, rdv.day, rdv.motif_id, rdv.lieu_id, count(*)::integer
    FROM rdv
    GROUP BY rdv.organisation_id, rdv.day, rdv.motif_id, rdv.lieu_id
    UNION ALL
    SELECT rdv.organisation_id, link.agent_id, rdv.day, rdv.motif_id, rdv.lieu_id, count(*)::integer
    FROM rdv JOIN rendezvous_rdv_agents AS link ON link.rdv_id = rdv.id
    GROUP BY rdv.organisation_id, link.agent_id, rdv.day, rdv.motif_id, rdv.lieu_id
$$;

CREATE FUNCTION stats_expected_usager_month(p_organisation bigint)
RETURNS TABLE (organisation_id bigint, month date, count integer) LANGUAGE sql STABLE AS $$
    SELECT p.organisation_id,
           date_trunc('month', p.created_at AT TIME ZONE (SELECT stats_tz(p_organisation)))::date,
           count(*)::integer
    FROM usagers_usagerprofile AS p
    WHERE p.organisation_id = p_organisation
    GROUP BY 1, 2
$$;

CREATE FUNCTION stats_rebuild(p_organisation bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- Writers wait until this transaction ends: none can count into rows being replaced.
    LOCK TABLE rendezvous_rdv, rendezvous_rdv_agents, usagers_usagerprofile IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM stats_rdvmonthcount WHERE organisation_id = p_organisation;
    INSERT INTO stats_rdvmonthcount (organisation_id, agent_id, month, motif_id, lieu_id, created_by, count)
        SELECT * FROM stats_expected_rdv_month(p_organisation);
    DELETE FROM stats_rdvstatuscount WHERE organisation_id = p_organisation;
    INSERT INTO stats_rdvstatuscount (organisation_id, agent_id, motif_id, lieu_id, status, count)
        SELECT * FROM stats_expected_rdv_status(p_organisation);
    DELETE FROM stats_rdvunknowndaycount WHERE organisation_id = p_organisation;
    INSERT INTO stats_rdvunknowndaycount (organisation_id, agent_id, day, motif_id, lieu_id, count)
        SELECT * FROM stats_expected_rdv_unknown_day(p_organisation);
    DELETE FROM stats_usagermonthcount WHERE organisation_id = p_organisation;
    INSERT INTO stats_usagermonthcount (organisation_id, month, count)
        SELECT * FROM stats_expected_usager_month(p_organisation);
END
$$;

-- ±delta in the rows of one RDV for one agent (NULL: the row of every RDV), in the tables asked.
CREATE FUNCTION stats_count_rdv(
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
        INSERT INTO stats_rdvmonthcount AS s (organisation_id, agent_id, month, motif_id, lieu_id, created_by, count)
        VALUES (
            r.organisation_id, p_agent, date_trunc('month', r.created_at AT TIME ZONE v_tz)::date,
            r.motif_id, r.lieu_id, r.created_by, p_delta
        )
        ON CONFLICT (organisation_id, agent_id, month, motif_id, lieu_id, created_by)
        DO UPDATE SET count = s.count + EXCLUDED.count
        RETURNING s.id, s.count INTO v_id, v_count;
        IF v_count = 0 THEN
            DELETE FROM stats_rdvmonthcount WHERE id = v_id;
        END IF;
    END IF;
    IF p_status THEN
        INSERT INTO stats_rdvstatuscount AS s (organisation_id, agent_id, motif_id, lieu_id, status, count)
        VALUES (r.organisation_id, p_agent, r.motif_id, r.lieu_id, r.status, p_delta)
        ON CONFLICT (organisation_id, agent_id, motif_id, lieu_id, status)
        DO UPDATE SET count = s.count + EXCLUDED.count
        RETURNING s.id, s.count INTO v_id, v_count;
        IF v_count = 0 THEN
            DELETE FROM stats_rdvstatuscount WHERE id = v_id;
        END IF;
    END IF;
    IF p_day THEN
        INSERT INTO stats_rdvunknowndaycount AS s (organisation_id, agent_id, day, motif_id, lieu_id, count)
        VALUES (r.organisation_id, p_agent, (r.starts_at AT TIME ZONE v_tz)::date, r.motif_id, r.lieu_id, p_delta)
        ON CONFLICT (organisation_id, agent_id, day, motif_id, lieu_id)
        DO UPDATE SET count = s.count + EXCLUDED.count
        RETURNING s.id, s.count INTO v_id, v_count;
        IF v_count = 0 THEN
            DELETE FROM stats_rdvunknowndaycount WHERE id = v_id;
        END IF;
    END IF;
END
$$;

-- The same for every row an RDV counts in: the NULL agent's, then each linked agent's.
CREATE FUNCTION stats_count_rdv_everywhere(
    r rendezvous_rdv, p_delta integer, p_month boolean, p_status boolean, p_day boolean
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_agent bigint;
BEGIN
    PERFORM stats_count_rdv(r, NULL, p_delta, p_month, p_status, p_day);
    FOR v_agent IN SELECT agent_id FROM rendezvous_rdv_agents WHERE rdv_id = r.id ORDER BY agent_id LOOP
        PERFORM stats_count_rdv(r, v_agent, p_delta, p_month, p_status, p_day);
    END LOOP;
END
$$;

CREATE FUNCTION stats_rdv_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_month boolean;
    v_status boolean;
    v_day boolean;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM stats_count_rdv_everywhere(NEW, 1, true, true, true);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM stats_count_rdv_everywhere(OLD, -1, true, true, true);
    ELSE
        v_month := (OLD.organisation_id, OLD.created_at, OLD.motif_id, OLD.lieu_id, OLD.created_by)
            IS DISTINCT FROM (NEW.organisation_id, NEW.created_at, NEW.motif_id, NEW.lieu_id, NEW.created_by);
        v_status := (OLD.organisation_id, OLD.motif_id, OLD.lieu_id, OLD.status)
            IS DISTINCT FROM (NEW.organisation_id, NEW.motif_id, NEW.lieu_id, NEW.status);
        v_day := (OLD.status = 'unknown' OR NEW.status = 'unknown')
            AND (v_status OR OLD.starts_at IS DISTINCT FROM NEW.starts_at);
        IF v_month OR v_status OR v_day THEN
            PERFORM stats_count_rdv_everywhere(OLD, -1, v_month, v_status, v_day);
            PERFORM stats_count_rdv_everywhere(NEW, 1, v_month, v_status, v_day);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION stats_rdv_agent_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r rendezvous_rdv;
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        SELECT * INTO r FROM rendezvous_rdv WHERE id = OLD.rdv_id FOR SHARE;
        IF FOUND THEN
            PERFORM stats_count_rdv(r, OLD.agent_id, -1, true, true, true);
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT * INTO r FROM rendezvous_rdv WHERE id = NEW.rdv_id FOR SHARE;
        IF FOUND THEN
            PERFORM stats_count_rdv(r, NEW.agent_id, 1, true, true, true);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION stats_count_usager(p_organisation bigint, p_created_at timestamptz, p_delta integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_count integer;
BEGIN
    INSERT INTO stats_usagermonthcount AS s (organisation_id, month, count)
    VALUES (
        p_organisation, date_trunc('month', p_created_at AT TIME ZONE stats_tz(p_organisation))::date, p_delta
    )
    ON CONFLICT (organisation_id, month) DO UPDATE SET count = s.count + EXCLUDED.count
    RETURNING s.id, s.count INTO v_id, v_count;
    IF v_count = 0 THEN
        DELETE FROM stats_usagermonthcount WHERE id = v_id;
    END IF;
END
$$;

CREATE FUNCTION stats_usager_profile_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM stats_count_usager(OLD.organisation_id, OLD.created_at, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM stats_count_usager(NEW.organisation_id, NEW.created_at, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION stats_organisation_tz_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_old text;
BEGIN
    SELECT COALESCE(NULLIF(OLD.time_zone, ''), t.time_zone) INTO v_old
    FROM organisations_territory AS t WHERE t.id = OLD.territory_id;
    IF v_old IS DISTINCT FROM stats_tz(NEW.id) THEN
        PERFORM stats_rebuild(NEW.id);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION stats_territory_tz_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_organisation bigint;
BEGIN
    FOR v_organisation IN
        SELECT id FROM organisations_organisation WHERE territory_id = NEW.id AND time_zone = '' ORDER BY id
    LOOP
        PERFORM stats_rebuild(v_organisation);
    END LOOP;
    RETURN NULL;
END
$$;
"""

TRIGGERS = """
CREATE TRIGGER stats_rdv_inserted_or_deleted
    AFTER INSERT OR DELETE ON rendezvous_rdv
    FOR EACH ROW EXECUTE FUNCTION stats_rdv_changed();

CREATE TRIGGER stats_rdv_updated
    AFTER UPDATE OF organisation_id, motif_id, lieu_id, created_by, created_at, status, starts_at ON rendezvous_rdv
    FOR EACH ROW
    WHEN (
        (OLD.organisation_id, OLD.motif_id, OLD.lieu_id, OLD.created_by, OLD.created_at, OLD.status, OLD.starts_at)
        IS DISTINCT FROM
        (NEW.organisation_id, NEW.motif_id, NEW.lieu_id, NEW.created_by, NEW.created_at, NEW.status, NEW.starts_at)
    )
    EXECUTE FUNCTION stats_rdv_changed();

CREATE TRIGGER stats_rdv_agent_changed
    AFTER INSERT OR DELETE OR UPDATE OF rdv_id, agent_id ON rendezvous_rdv_agents
    FOR EACH ROW EXECUTE FUNCTION stats_rdv_agent_changed();

CREATE TRIGGER stats_usager_profile_inserted_or_deleted
    AFTER INSERT OR DELETE ON usagers_usagerprofile
    FOR EACH ROW EXECUTE FUNCTION stats_usager_profile_changed();

CREATE TRIGGER stats_usager_profile_updated
    AFTER UPDATE OF organisation_id, created_at ON usagers_usagerprofile
    FOR EACH ROW
    WHEN ((OLD.organisation_id, OLD.created_at) IS DISTINCT FROM (NEW.organisation_id, NEW.created_at))
    EXECUTE FUNCTION stats_usager_profile_changed();

CREATE TRIGGER stats_organisation_tz_changed
    AFTER UPDATE OF time_zone, territory_id ON organisations_organisation
    FOR EACH ROW
    WHEN ((OLD.time_zone, OLD.territory_id) IS DISTINCT FROM (NEW.time_zone, NEW.territory_id))
    EXECUTE FUNCTION stats_organisation_tz_changed();

CREATE TRIGGER stats_territory_tz_changed
    AFTER UPDATE OF time_zone ON organisations_territory
    FOR EACH ROW
    WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone)
    EXECUTE FUNCTION stats_territory_tz_changed();

-- What exists already (a database migrated before the summary).
SELECT stats_rebuild(id) FROM organisations_organisation ORDER BY id;
"""

BACKWARD = """
DROP TRIGGER stats_territory_tz_changed ON organisations_territory;
DROP TRIGGER stats_organisation_tz_changed ON organisations_organisation;
DROP TRIGGER stats_usager_profile_updated ON usagers_usagerprofile;
DROP TRIGGER stats_usager_profile_inserted_or_deleted ON usagers_usagerprofile;
DROP TRIGGER stats_rdv_agent_changed ON rendezvous_rdv_agents;
DROP TRIGGER stats_rdv_updated ON rendezvous_rdv;
DROP TRIGGER stats_rdv_inserted_or_deleted ON rendezvous_rdv;
DROP FUNCTION stats_territory_tz_changed();
DROP FUNCTION stats_organisation_tz_changed();
DROP FUNCTION stats_usager_profile_changed();
DROP FUNCTION stats_count_usager(bigint, timestamptz, integer);
DROP FUNCTION stats_rdv_agent_changed();
DROP FUNCTION stats_rdv_changed();
DROP FUNCTION stats_count_rdv_everywhere(rendezvous_rdv, integer, boolean, boolean, boolean);
DROP FUNCTION stats_count_rdv(rendezvous_rdv, bigint, integer, boolean, boolean, boolean);
DROP FUNCTION stats_rebuild(bigint);
DROP FUNCTION stats_expected_usager_month(bigint);
DROP FUNCTION stats_expected_rdv_unknown_day(bigint);
DROP FUNCTION stats_expected_rdv_status(bigint);
DROP FUNCTION stats_expected_rdv_month(bigint);
DROP FUNCTION stats_tz(bigint);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0001_initial"),
        ("rendezvous", "0005_booking_token"),
        ("usagers", "0003_usager_accounts"),
    ]

    operations = [migrations.RunSQL(FUNCTIONS + TRIGGERS, reverse_sql=BACKWARD)]
