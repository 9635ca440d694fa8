"""What every `bench_<subject>` command shares: a throw-away database, never the demo's."""

import json
from abc import ABC, abstractmethod

from django.core.management.base import BaseCommand
from django.db import connection

from rdv.memory import tune_garbage_collector


def index_names(plan) -> set[str]:
    """The indexes an `EXPLAIN (FORMAT JSON)` plan uses, at any depth."""
    names = set()
    if isinstance(plan, dict):
        if "Index Name" in plan:
            names.add(plan["Index Name"])
        for value in plan.values():
            names |= index_names(value)
    elif isinstance(plan, list):
        for value in plan:
            names |= index_names(value)
    return names


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class BenchCommand(BaseCommand, ABC):
    """Creates and migrates `<database>_bench_<suffix>`, runs `bench(options)` there, drops the
    database (even after an error, unless --keep) and prints the result as one JSON object."""

    database_suffix: str

    def add_arguments(self, parser):
        parser.add_argument(
            "--keep",
            action="store_true",
            help="Garder la base jetable pour l'examiner (la prochaine mesure la remplace).",
        )

    @abstractmethod
    def bench(self, options) -> dict:
        """Seed the throw-away database, measure, return the figures."""

    def handle(self, *args, **options):
        creation = connection.creation
        old_name = connection.settings_dict["NAME"]
        old_test_name = connection.settings_dict["TEST"].get("NAME")
        bench_name = f"{old_name}_bench_{self.database_suffix}"
        connection.settings_dict["TEST"]["NAME"] = bench_name
        with connection._nodb_cursor() as cursor:  # a database left by --keep
            cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(bench_name)}")
        creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        # Measured with the garbage collector set as the web process sets it (rdv/wsgi.py).
        tune_garbage_collector()
        try:
            result = self.bench(options)
        finally:
            creation.destroy_test_db(old_name, verbosity=0, keepdb=options["keep"])
            connection.settings_dict["TEST"]["NAME"] = old_test_name
        self.stdout.write(json.dumps(result))
