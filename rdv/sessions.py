"""The session engine (SESSION_ENGINE): Django's database sessions, each read in one fixed
statement, and a kept session written in one. Every page reads one (an agent's, an usager's, both
on a public page an agent opens), and the ORM took about twice PostgreSQL's time to build its
`get`; each step of the online booking writes the usager's, which Django wrapped in a transaction
of its own (BEGIN, UPDATE, COMMIT: three round trips for one statement). A new session, expiry
and `clearsessions` are Django's own."""

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connection
from django.utils import timezone

SESSION_SQL = "SELECT session_data FROM django_session WHERE session_key = %s AND expire_date > %s"
UPDATE_SQL = "UPDATE django_session SET session_data = %s, expire_date = %s WHERE session_key = %s"


class SessionStore(DatabaseSessionStore):
    def load(self) -> dict:
        """The session's data; none (and no key: a new one is made if it is written) when the
        row is missing or expired, as Django's."""
        with connection.cursor() as cursor:
            cursor.execute(SESSION_SQL, [self.session_key, timezone.now()])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return {}
        return self.decode(row[0])

    def save(self, must_create: bool = False) -> None:
        """A kept session (it has its key) in one UPDATE, as Django's forced update writes it;
        UpdateError when its row is gone meanwhile (signed out elsewhere, expired and swept), as
        Django's. One statement needs no transaction of its own, nor, inside the caller's, a
        savepoint: it cannot break the caller's transaction by a conflict, only by a lost
        connection, which breaks it anyway. Unlike Django's, such a database error is not turned
        into UpdateError (« session interrupted », a 400): it is the outage it is, and the page
        says so (503, `rdv.errors`). A new session is Django's (its key made unique)."""
        if must_create or self.session_key is None:
            return super().save(must_create=must_create)
        data = self.encode(self._get_session(no_load=False))
        with connection.cursor() as cursor:
            cursor.execute(UPDATE_SQL, [data, self.get_expiry_date(), self.session_key])
            if cursor.rowcount != 1:
                raise UpdateError
