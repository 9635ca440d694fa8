"""`python manage.py bench_usagers_search`: how fast the usager search answers with 100 000 usagers
in one organisation.

It never touches the configured database's data: it creates a throw-away database next to it
(`<name>_bench_usagers`), migrates it, seeds it with COPY, runs the searches, and drops it, even
when interrupted. The searches go through the very code the pages use
(`Usager.objects.visible_in(org).search(q)`, then the list page's count and first page, and the
header's live results), over a mix of full names, partial names, accented and unaccented
spellings, emails and phone numbers taken from the seeded rows. Prints one JSON object.
"""

import random
import statistics
import time
import unicodedata
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from organisations.models import Organisation, Territory
from rdv.bench import BenchCommand, index_names, percentile
from usagers.demo import CHILDREN, LAST_NAMES, MEN, MOBILE_PREFIXES, WOMEN, split_names
from usagers.models import Usager
from usagers.views import LIVE_RESULTS, PAGE_SIZE

SEED = 2020
# Prefixes and endings that make ~1 500 more French-looking family names, so that a name is as
# rare in the bench as it is in a département (the most frequent ones still cover a few hundred rows).
PREFIXES = split_names(
    """
    Le, La, Du, De, Ben, Mar, Ber, Lef, Gir, Dub, Rou, Fon, Mor, Bon, Lam, Che, Gau, Per, Mé, Lé, Bé,
    Hé, Thé, Ré, Cou, Bou, Fer, Gra, Lan, Mal, Pel, Sau, Ver, Vil, Car, Cha, Dan, Ga, Jou, Mas
    """
)
ENDINGS = split_names(
    """
    nard, ois, ault, et, ier, ère, eau, ine, on, and, ard, el, ès, ac, oux, ot, in, our, elle, aud, ey,
    ieux, ant, é, ouard, inet, eron, ollet, mont, val, court, champ, lin, guet, bert, gnon, quet
    """
)
DAYS_18_TO_80 = (18 * 365, 80 * 365)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


class Command(BenchCommand):
    database_suffix = "usagers"
    help = "Mesure la recherche d'usagers sur 100 000 usagers (base jetable) et affiche un objet JSON."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--usagers", type=int, default=100_000, help="Usagers de l'organisation mesurée.")
        parser.add_argument("--others", type=int, default=10_000, help="Usagers d'une autre organisation.")
        parser.add_argument("--queries", type=int, default=40, help="Recherches par type de recherche.")

    def bench(self, options) -> dict:
        rng = random.Random(SEED)
        started = time.perf_counter()
        territory = Territory.objects.create(departement_number="977", name="Département de mesure")
        organisation = Organisation.objects.create(territory=territory, name="MDS mesurée")
        other = Organisation.objects.create(territory=territory, name="MDS voisine")
        last_names = LAST_NAMES + [p + e.lower() for p in PREFIXES for e in ENDINGS]
        # Zipf-like frequencies: a few common family names (the first about 1 % of rows, as Martin
        # is in France), a long tail of rare ones.
        weights = [1 / (rank + 1) ** 0.5 for rank in range(len(last_names))]
        rng.shuffle(last_names)
        self._seed(organisation, options["usagers"], rng, last_names, weights)
        self._seed(other, options["others"], rng, last_names, weights)
        with connection.cursor() as cursor:
            # What autovacuum does to freshly loaded tables on a running server.
            cursor.execute("VACUUM ANALYZE usagers_usager")
            cursor.execute("VACUUM ANALYZE usagers_usagerprofile")
        seeded_s = time.perf_counter() - started

        queries = self._queries(organisation, rng, options["queries"])
        for _kind, query in queries[:20]:  # warm the caches as a running server's would be
            self._list_page(organisation, query)
        page_ms: list[float] = []
        live_ms: list[float] = []
        by_kind: dict[str, list[float]] = {}
        for kind, query in queries:
            t0 = time.perf_counter()
            self._list_page(organisation, query)
            elapsed = (time.perf_counter() - t0) * 1000
            page_ms.append(elapsed)
            by_kind.setdefault(kind, []).append(elapsed)
            t0 = time.perf_counter()
            list(self._search(organisation, query)[: LIVE_RESULTS + 1])
            live_ms.append((time.perf_counter() - t0) * 1000)

        return {
            "usagers": Usager.objects.visible_in(organisation).count(),
            "other_organisation_usagers": Usager.objects.visible_in(other).count(),
            "queries": len(queries),
            "p50_ms": round(statistics.median(page_ms), 2),
            "p95_ms": round(percentile(page_ms, 0.95), 2),
            "max_ms": round(max(page_ms), 2),
            "measured": f"list page: count + first page of {PAGE_SIZE}, best matches first",
            "live_p50_ms": round(statistics.median(live_ms), 2),
            "live_p95_ms": round(percentile(live_ms, 0.95), 2),
            "p50_ms_by_kind": {kind: round(statistics.median(values), 2) for kind, values in by_kind.items()},
            "indexes_used": self._indexes_used(organisation, queries),
            "seed_seconds": round(seeded_s, 1),
        }

    def _search(self, organisation, query):
        return Usager.objects.visible_in(organisation).search(query).prefetch_related("responsible")

    def _list_page(self, organisation, query) -> None:
        """What usagers.views.usager_list asks the database: the count, then the first page."""
        usagers = self._search(organisation, query)
        usagers.count()
        list(usagers[:PAGE_SIZE])

    def _seed(self, organisation, count: int, rng: random.Random, last_names, weights) -> None:
        """`count` usagers known to `organisation`, a fifth of them proches, loaded with COPY."""
        now = timezone.now()
        today = timezone.localdate()
        responsibles = count - count // 5
        columns = (
            "first_name, last_name, birth_name, birth_date, email, phone, address, caisse, case_number, "
            "family_situation, housing, notify_by_email, notify_by_sms, created_by, created_at, responsible_id"
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM usagers_usager")
            previous_max = cursor.fetchone()[0]
            family_names = []
            with cursor.cursor.copy(f"COPY usagers_usager ({columns}) FROM STDIN") as copy:
                for n in range(responsibles):
                    woman = rng.random() < 0.7
                    first_name = rng.choice(WOMEN if woman else MEN)
                    last_name = rng.choices(last_names, weights)[0]
                    family_names.append(last_name)
                    email = f"{_ascii(first_name).lower()}.{_ascii(last_name).lower().replace(' ', '')}{n}@example.com"
                    phone = (
                        f"+33{rng.choice(MOBILE_PREFIXES)}{rng.randint(0, 9999999):07d}" if rng.random() < 0.8 else ""
                    )
                    copy.write_row(
                        (
                            first_name,
                            last_name,
                            rng.choices(last_names, weights)[0] if woman and rng.random() < 0.2 else "",
                            today - timedelta(days=rng.randint(*DAYS_18_TO_80)) if rng.random() < 0.9 else None,
                            email if rng.random() < 0.6 else "",
                            phone,
                            "",
                            "caf",
                            "",
                            "",
                            "",
                            True,
                            True,
                            "agent",
                            now,
                            None,
                        )
                    )
            cursor.execute("SELECT id FROM usagers_usager WHERE id > %s ORDER BY id", [previous_max])
            responsible_ids = [row[0] for row in cursor.fetchall()]
            with cursor.cursor.copy(f"COPY usagers_usager ({columns}) FROM STDIN") as copy:
                for _ in range(count - responsibles):
                    index = rng.randrange(responsibles)
                    copy.write_row(
                        (
                            rng.choice(CHILDREN),
                            family_names[index],
                            "",
                            today - timedelta(days=rng.randint(0, 17 * 365)),
                            "",
                            "",
                            "",
                            "",
                            "",
                            "",
                            "",
                            True,
                            True,
                            "agent",
                            now,
                            responsible_ids[index],
                        )
                    )
            cursor.execute(
                "INSERT INTO usagers_usagerprofile (usager_id, organisation_id, notes, created_at) "
                "SELECT id, %s, '', %s FROM usagers_usager WHERE id > %s",
                [organisation.pk, now, previous_max],
            )

    def _queries(self, organisation, rng: random.Random, per_kind: int) -> list[tuple[str, str]]:
        """(kind, query) pairs built from seeded usagers of the measured organisation."""
        sample = list(
            Usager.objects.visible_in(organisation)
            .filter(responsible__isnull=True)
            .order_by("?")
            .values("first_name", "last_name", "email", "phone")[: per_kind * 3]
        )
        with_email = [u for u in sample if u["email"]]
        with_phone = [u for u in sample if u["phone"]]
        queries = []
        for usager in sample[:per_kind]:
            first, last = usager["first_name"], usager["last_name"]
            queries += [
                ("full_name", f"{first} {last}"),
                ("full_name_unaccented", _ascii(f"{first} {last}").lower()),
                ("last_name_accented", last),
                ("partial_last_name", _ascii(last)[:4].lower()),
                ("first_name_unaccented", _ascii(first).lower()),
            ]
        queries += [("email", u["email"]) for u in with_email[:per_kind]]
        queries += [("email_start", u["email"].split("@")[0][:8]) for u in with_email[:per_kind]]
        for usager in with_phone[:per_kind]:
            national = "0" + str(usager["phone"])[3:]
            queries.append(("phone", " ".join(national[i : i + 2] for i in range(0, 10, 2))))
        rng.shuffle(queries)
        return queries

    def _indexes_used(self, organisation, queries) -> dict[str, dict[str, list[str]]]:
        """The indexes in PostgreSQL's plans (the count, then the first page) for one search of
        each kind."""
        used: dict[str, dict[str, list[str]]] = {}
        for kind, query in queries:
            if kind in used:
                continue
            search = self._search(organisation, query)
            count_sql, count_params = search.order_by().values("pk").query.sql_with_params()
            page_sql, page_params = search[:PAGE_SIZE].query.sql_with_params()
            used[kind] = {}
            for name, sql, params in (("count", count_sql, count_params), ("page", page_sql, page_params)):
                with connection.cursor() as cursor:
                    cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
                    used[kind][name] = sorted(index_names(cursor.fetchone()[0]))
        return used
