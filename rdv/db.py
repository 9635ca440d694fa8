"""What several apps ask of PostgreSQL beyond the ORM."""

from django.db import connection


def commit_without_waiting_for_the_disk() -> None:
    """Within the current transaction: its COMMIT returns before PostgreSQL has flushed it to the
    disk (`synchronous_commit = off` for this transaction only); the WAL writer flushes it a
    fraction of a second later. A crash of the database server in between loses that
    transaction whole, never half of it, and never corrupts anything; other sessions see it at
    once. Only for bookkeeping that the next run redoes when it is lost: on a disk that flushes in
    3 ms, a worker recording each message of a large batch spends more time waiting for the disk
    than working (bench_notifications)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
