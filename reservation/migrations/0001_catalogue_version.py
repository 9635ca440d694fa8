"""The version of what online booking offers (reservation.catalogue): a number the database
changes in the same transaction as any write to the tables the offer and the routing read, so a
page may keep their answer in memory for as long as the number has not changed.

The number comes from a sequence, whose values are never given twice, even by a transaction that
rolls back: an answer kept under a number seen inside a transaction that did not commit can never
be read again."""

from django.db import migrations

# The tables reservation.offer.offer_for and sectorisation.routing.route read, and what the pages
# show of them (names of organisations, services, categories).
TABLES = [
    "organisations_territory",
    "organisations_organisation",
    "organisations_service",
    "organisations_lieu",
    "motifs_motif",
    "motifs_motifcategory",
    "planning_plageouverture",
    "planning_plageouverture_motifs",
    "sectorisation_sector",
    "sectorisation_sectorarea",
    "sectorisation_sectorattribution",
    "agents_agentrole",
]

FORWARD = [
    "CREATE SEQUENCE reservation_catalogue_seq",
    """CREATE TABLE reservation_catalogue (
        id smallint PRIMARY KEY CHECK (id = 1),
        version bigint NOT NULL
    )""",
    "INSERT INTO reservation_catalogue (id, version) VALUES (1, nextval('reservation_catalogue_seq'))",
    """CREATE FUNCTION reservation_catalogue_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE reservation_catalogue SET version = nextval('reservation_catalogue_seq') WHERE id = 1;
        RETURN NULL;
    END
    $$""",
    *(
        f"""CREATE TRIGGER reservation_catalogue_changed
            AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION reservation_catalogue_changed()"""
        for table in TABLES
    ),
    # Agents: only what routing reads (an agent deactivated is no longer routed to), not the
    # last login written at each sign-in.
    """CREATE TRIGGER reservation_catalogue_changed
        AFTER INSERT OR DELETE OR TRUNCATE ON agents_agent
        FOR EACH STATEMENT EXECUTE FUNCTION reservation_catalogue_changed()""",
    """CREATE TRIGGER reservation_catalogue_agent_active
        AFTER UPDATE OF is_active ON agents_agent
        FOR EACH STATEMENT EXECUTE FUNCTION reservation_catalogue_changed()""",
]

BACKWARD = [
    "DROP TRIGGER reservation_catalogue_agent_active ON agents_agent",
    *(f"DROP TRIGGER reservation_catalogue_changed ON {table}" for table in [*TABLES, "agents_agent"]),
    "DROP FUNCTION reservation_catalogue_changed()",
    "DROP TABLE reservation_catalogue",
    "DROP SEQUENCE reservation_catalogue_seq",
]


class Migration(migrations.Migration):
    # The migrations that create the tables, no later: a migration test that takes an app back
    # in time keeps this one (triggers care for no column, but agents' is_active).
    dependencies = [
        ("organisations", "0001_initial"),
        ("motifs", "0001_initial"),
        ("planning", "0001_initial"),
        ("sectorisation", "0003_sectors"),
        ("agents", "0001_initial"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
