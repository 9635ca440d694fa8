"""Django's PostgreSQL backend, its health check without a round trip (settings.DATABASES)."""

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        """Whether a kept connection still works, asked before each request uses it
        (CONN_HEALTH_CHECKS). Django's answer sends `SELECT 1`: a round trip to the server on every
        request, the longest part of a small page's. A connection the server ended (a restart,
        `pg_terminate_backend`, a timeout) has something to read at once: the server's last
        message and the end of the stream. An idle one in working order has nothing; only then is
        it taken as it is, anything else asks the server as Django does."""
        kept = self.connection
        if kept is None or kept.closed or kept.broken:
            return False
        if kept.pgconn.transaction_status == pq.TransactionStatus.IDLE:
            poller = select.poll()
            poller.register(kept.fileno(), select.POLLIN | select.POLLPRI)
            if not poller.poll(0):
                return True
        return super().is_usable()
