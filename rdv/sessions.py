"""The session engine (SESSION_ENGINE): Django's database sessions, each read in one fixed
statement. Every page reads one (an agent's, an usager's, both on a public page an agent opens),
and the ORM took about twice PostgreSQL's time to build its `get`. Writes, expiry and
`clearsessions` are Django's own."""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connection
from django.utils import timezone

SESSION_SQL = "SELECT session_data FROM django_session WHERE session_key = %s AND expire_date > %s"


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
