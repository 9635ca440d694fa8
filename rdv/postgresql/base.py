"""Django's PostgreSQL backend, its health check without a round trip (settings.DATABASES)."""

import select
import time

from django.db.backends.postgresql import base
from psycopg import pq

# A connection that answered this recently and has nothing to read is taken as it is; one idle
# longer is asked (`SELECT 1`): a peer gone without a word (a crashed host, a firewall or a load
# balancer that forgot the connection after its idle timeout) leaves nothing to read.
RECENT_SECONDS = 30.0


class DatabaseWrapper(base.DatabaseWrapper):
    checked_at = 0.0

    def connect(self) -> None:
        super().connect()
        self.checked_at = time.monotonic()

    def is_usable(self) -> bool:
        """Whether a kept connection still works, asked before each request uses it
        (CONN_HEALTH_CHECKS). Django's answer sends `SELECT 1`: a round trip to the server on every
        request, the longest part of a small page's. A connection the server ended (a restart,
        `pg_terminate_backend`, a timeout) has something to read at once: the server's last
        message and the end of the stream. An idle one in working order, used within the last
        RECENT_SECONDS, has nothing; only then is it taken as it is, anything else asks the server
        as Django does."""
        kept = self.connection
        if kept is None or kept.closed or kept.broken:
            return False
        now = time.monotonic()
        if kept.pgconn.transaction_status == pq.TransactionStatus.IDLE and now - self.checked_at < RECENT_SECONDS:
            poller = select.poll()
            poller.register(kept.fileno(), select.POLLIN | select.POLLPRI)
            if not poller.poll(0):
                self.checked_at = now
                return True
        usable = super().is_usable()
        if usable:
            self.checked_at = now
        return usable
