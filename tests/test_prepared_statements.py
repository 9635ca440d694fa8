"""DATABASE_PREPARED_STATEMENTS (rdv/settings.py, on by default): parameters bound by PostgreSQL,
and a statement a connection runs again and again prepared (after 5 runs), so that PostgreSQL stops
planning it anew on every page."""

import pytest
from django.db import connection

from usagers.models import Usager

pytestmark = pytest.mark.django_db


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


def test_a_statement_run_six_times_is_prepared_and_its_parameters_bound_by_postgresql():
    assert connection.settings_dict["OPTIONS"]["server_side_binding"] is True
    for pk in range(1, 7):
        assert not Usager.objects.filter(pk=pk, last_name="Prepared").exists()
    assert any('"usagers_usager"."last_name" = $2' in statement for statement in prepared_statements())
