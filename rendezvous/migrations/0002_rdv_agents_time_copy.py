"""A copy of each RDV's start, end and status on its agent links, kept exact by PostgreSQL.

The créneaux engine asks « what time do these agents' RDVs hold between two dates? ». Answered
from `rendezvous_rdv` joined to the links, PostgreSQL reads either every RDV of the window in
every organisation or every link of the agents in their whole history. With the times on the
link, one index on (agent_id, rdv_starts_at) answers it by an index-only scan of exactly the
rows asked for.

The columns live on Django's auto-created M2M table, so `Rdv.agents` (`.all()`, `.set()`,
`filter(agents=…)`) and its simple-history tracking stay as they are: Django never names these
columns and triggers fill them:
- a link inserted or updated (whatever the column) copies its RDV's values, or NULL while the RDV
  row is not there yet (foreign keys are deferred): the next trigger fills them when it comes;
- an RDV inserted, or its starts_at / ends_at / status changed, copies them onto its links.
A link deleted takes its copy with it. The link's trigger reads the RDV row FOR SHARE: an RDV
changed by a concurrent transaction waits for, or is waited for by, the new link, so neither can
commit a stale copy. tests/rendezvous/test_agent_time_copy.py holds them to it.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE rendezvous_rdv_agents
    ADD COLUMN rdv_starts_at timestamp with time zone,
    ADD COLUMN rdv_ends_at timestamp with time zone,
    ADD COLUMN rdv_status varchar(10);

UPDATE rendezvous_rdv_agents AS link
SET rdv_starts_at = rdv.starts_at, rdv_ends_at = rdv.ends_at, rdv_status = rdv.status
FROM rendezvous_rdv AS rdv
WHERE rdv.id = link.rdv_id;

CREATE INDEX rdv_agents_agent_time ON rendezvous_rdv_agents (agent_id, rdv_starts_at)
    INCLUDE (rdv_ends_at, rdv_status);

CREATE FUNCTION rendezvous_rdv_agents_copy_rdv() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- No row (yet): the copies become NULL.
    SELECT rdv.starts_at, rdv.ends_at, rdv.status
    INTO NEW.rdv_starts_at, NEW.rdv_ends_at, NEW.rdv_status
    FROM rendezvous_rdv AS rdv
    WHERE rdv.id = NEW.rdv_id
    FOR SHARE;
    RETURN NEW;
END
$$;

CREATE TRIGGER rendezvous_rdv_agents_copy_rdv
    BEFORE INSERT OR UPDATE ON rendezvous_rdv_agents
    FOR EACH ROW EXECUTE FUNCTION rendezvous_rdv_agents_copy_rdv();

CREATE FUNCTION rendezvous_rdv_copy_to_agents() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rendezvous_rdv_agents
    SET rdv_starts_at = NEW.starts_at, rdv_ends_at = NEW.ends_at, rdv_status = NEW.status
    WHERE rdv_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER rendezvous_rdv_copy_to_agents_on_insert
    AFTER INSERT ON rendezvous_rdv
    FOR EACH ROW EXECUTE FUNCTION rendezvous_rdv_copy_to_agents();

CREATE TRIGGER rendezvous_rdv_copy_to_agents_on_update
    AFTER UPDATE OF starts_at, ends_at, status ON rendezvous_rdv
    FOR EACH ROW
    WHEN (
        OLD.starts_at IS DISTINCT FROM NEW.starts_at
        OR OLD.ends_at IS DISTINCT FROM NEW.ends_at
        OR OLD.status IS DISTINCT FROM NEW.status
    )
    EXECUTE FUNCTION rendezvous_rdv_copy_to_agents();
"""

BACKWARD = """
DROP TRIGGER rendezvous_rdv_copy_to_agents_on_update ON rendezvous_rdv;
DROP TRIGGER rendezvous_rdv_copy_to_agents_on_insert ON rendezvous_rdv;
DROP FUNCTION rendezvous_rdv_copy_to_agents();
DROP TRIGGER rendezvous_rdv_agents_copy_rdv ON rendezvous_rdv_agents;
DROP FUNCTION rendezvous_rdv_agents_copy_rdv();
DROP INDEX rdv_agents_agent_time;
ALTER TABLE rendezvous_rdv_agents
    DROP COLUMN rdv_starts_at,
    DROP COLUMN rdv_ends_at,
    DROP COLUMN rdv_status;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("rendezvous", "0001_initial"),
    ]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=BACKWARD)]
