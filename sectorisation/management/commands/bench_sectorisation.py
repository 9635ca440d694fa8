"""`python manage.py bench_sectorisation`: how fast a commune is found among all of France's.

Like every `bench_<subject>`, it works in a throw-away database next to the configured one
(`<name>_bench_sectorisation`, created, migrated, dropped): the migration `0002_load_communes` loads
every commune there (and it loads them itself if they are missing). Then it times
`search_communes` over ~200 queries built from the shipped communes with a fixed seed: names as
typed (lower case, no accents, capitals, wrong accents), « st »/« ste » for « saint »/« sainte »,
beginnings of names, misspelt names, postal codes and their beginnings, INSEE codes current and
former, arrondissements. Prints one JSON object.

Then it times `route()` (an address to its sectors, organisations and agents) in a territory of
200 sectors (`--sectors`), for addresses of whole communes and of streets, and counts its queries.
Each measure is one method returning its figures (`_measure_search`, `_measure_route`).
"""

import random
import statistics
import time
import unicodedata

from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import Agent, AgentRole
from motifs.models import Motif
from organisations.models import Organisation, Territory
from rdv.bench import BenchCommand, index_names, percentile
from sectorisation.communes import search_communes
from sectorisation.loading import load_communes
from sectorisation.models import Commune, FormerCommune, Sector, SectorArea, SectorAttribution
from sectorisation.routing import route

SEED = 2026
WARM_UP = 20
ACCENTS = str.maketrans({"e": "é", "a": "à", "i": "ï", "o": "ô", "u": "û"})


def _unaccented(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


class Command(BenchCommand):
    database_suffix = "sectorisation"
    help = "Mesure la recherche de communes sur toutes les communes de France (base jetable) ; affiche un objet JSON."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--per-kind", type=int, default=24, help="Recherches par type de recherche.")
        parser.add_argument("--sectors", type=int, default=200, help="Secteurs du territoire routé.")

    def bench(self, options) -> dict:
        if not Commune.objects.filter(pk="75056").exists():
            load_communes()
        with connection.cursor() as cursor:
            # What autovacuum does to freshly loaded tables on a running server.
            cursor.execute("VACUUM ANALYZE sectorisation_commune")
            cursor.execute("VACUUM ANALYZE sectorisation_formercommune")
        rng = random.Random(SEED)
        result: dict = {"communes": Commune.objects.count()}
        result |= self._measure_search(rng, options["per_kind"])
        result |= self._measure_route(rng, options["sectors"])
        return result

    def _measure_route(self, rng: random.Random, sector_count: int) -> dict:
        """`route()` for addresses of a département cut into `sector_count` sectors: whole communes
        and, for one sector in four, a street of a commune; organisations and agents attributed."""
        territory = Territory.objects.create(departement_number="77", name="Seine-et-Marne (bench)")
        organisations = [Organisation.objects.create(territory=territory, name=f"MDS {index}") for index in range(10)]
        agents = [Agent.objects.create(email=f"agent{index}@bench.invalid") for index in range(40)]
        for index, agent in enumerate(agents):
            AgentRole.objects.create(agent=agent, organisation=organisations[index % 10])
        codes = list(Commune.objects.filter(departement="77").order_by("pk").values_list("pk", flat=True))
        streets = ["Rue de la République", "Avenue du Général de Gaulle", "Rue Victor Hugo", "Grande Rue"]
        for index in range(sector_count):
            sector = Sector.objects.create(territory=territory, name=f"Secteur {index}")
            for code in rng.sample(codes, 3):
                SectorArea.objects.create(sector=sector, commune_id=code)
            if index % 4 == 0:
                SectorArea.objects.create(sector=sector, commune_id=rng.choice(codes), street=rng.choice(streets))
            organisation = rng.randrange(10)
            SectorAttribution.objects.create(sector=sector, organisation=organisations[organisation])
            SectorAttribution.objects.create(
                sector=sector,
                organisation=organisations[organisation],
                agent=agents[organisation + 10 * rng.randrange(4)],
            )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE sectorisation_sector, sectorisation_sectorarea, sectorisation_sectorattribution")
        communes = {commune.pk: commune for commune in Commune.objects.filter(departement="77")}
        addresses = [(communes[rng.choice(codes)], rng.choice([*streets, "", "Chemin des Vignes"])) for _ in range(300)]
        for commune, street in addresses[:WARM_UP]:
            route(commune, street)
        elapsed: list[float] = []
        queries: set[int] = set()
        for commune, street in addresses:
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                found = route(commune, street)
                found.organisation_ids(Motif.SectorisationLevel.ORGANISATION)
                found.agent_ids(Motif.SectorisationLevel.AGENT, organisations[0].pk)
                elapsed.append((time.perf_counter() - started) * 1000)
            queries.add(len(captured))
        return {
            "sectors": sector_count,
            "routes": len(addresses),
            "route_p50_ms": round(statistics.median(elapsed), 2),
            "route_p95_ms": round(percentile(elapsed, 0.95), 2),
            "queries_route": max(queries),
        }

    def _measure_search(self, rng: random.Random, per_kind: int) -> dict:
        queries = self._search_queries(rng, per_kind)
        for _kind, query in queries[:WARM_UP]:  # caches warm, as a running server's are
            search_communes(query)
        elapsed: list[float] = []
        by_kind: dict[str, list[float]] = {}
        empty = 0
        for kind, query in queries:
            started = time.perf_counter()
            found = search_communes(query)
            ms = (time.perf_counter() - started) * 1000
            elapsed.append(ms)
            by_kind.setdefault(kind, []).append(ms)
            empty += not found
        return {
            "search_p50_ms": round(statistics.median(elapsed), 2),
            "search_p95_ms": round(percentile(elapsed, 0.95), 2),
            "search_max_ms": round(max(elapsed), 2),
            "queries_search": len(queries),
            "search_without_result": empty,
            "search_p95_ms_by_kind": {kind: round(percentile(ms, 0.95), 2) for kind, ms in sorted(by_kind.items())},
            "indexes_used": self._indexes_used(),
        }

    def _search_queries(self, rng: random.Random, per_kind: int) -> list[tuple[str, str]]:
        """(kind, query) pairs from the loaded communes: the bigger the commune, the likelier."""
        communes = list(
            Commune.objects.filter(kind="commune", population__gt=0).values_list(
                "name", "insee_code", "postal_codes", "population"
            )
        )
        weights = [population**0.5 for *_rest, population in communes]

        def pick(count: int, condition=lambda name: True) -> list[tuple]:
            pool = [(c, w) for c, w in zip(communes, weights, strict=True) if condition(c[0])]
            return rng.choices([c for c, _ in pool], [w for _, w in pool], k=count)

        queries = []
        for name, *_ in pick(per_kind):
            queries.append(("name_as_typed", _unaccented(name).lower()))
        for name, *_ in pick(per_kind):
            queries.append(("name_capitals", name.upper()))
        for name, *_ in pick(per_kind):
            queries.append(("name_wrong_accents", _unaccented(name).lower().translate(ACCENTS)))
        for name, *_ in pick(per_kind, lambda name: name.startswith(("Saint-", "Sainte-"))):
            abbreviated = name.replace("Sainte-", "Ste ").replace("Saint-", "St ")
            queries.append(("saint_abbreviated", rng.choice([abbreviated, abbreviated.lower(), abbreviated + " "])))
        for name, *_ in pick(per_kind):
            queries.append(("name_beginning", _unaccented(name)[: rng.randint(3, 6)].lower()))
        for name, *_ in pick(per_kind // 2, lambda name: len(name) >= 7):
            cut = rng.randrange(2, len(name) - 1)
            queries.append(("name_misspelt", _unaccented(name[:cut] + name[cut + 1 :]).lower()))
        for _name, _code, postal_codes, _population in pick(per_kind):
            if postal_codes:
                queries.append(("postal_code", rng.choice(postal_codes)))
        for _name, _code, postal_codes, _population in pick(per_kind // 2):
            if postal_codes:
                queries.append(("postal_code_beginning", rng.choice(postal_codes)[: rng.randint(2, 4)]))
        for _name, code, *_ in pick(per_kind // 2):
            queries.append(("insee_code", code))
        former_codes = list(FormerCommune.objects.order_by("insee_code").values_list("insee_code", flat=True))
        queries += [("former_insee_code", code) for code in rng.sample(former_codes, per_kind // 2)]
        arrondissements = ["Paris 19", "Paris 19e", "paris 1er", "Lyon 3", "lyon 7e", "Marseille 13", "75019"]
        queries += [("arrondissement", query) for query in arrondissements]
        rng.shuffle(queries)
        return queries

    def _indexes_used(self) -> dict[str, list[str]]:
        """The indexes in PostgreSQL's plan of the communes' query of one search of each kind."""
        samples = {"name": "st etienne", "postal_code": "42000", "postal_code_beginning": "77"}
        used = {}
        for kind, query in samples.items():
            with CaptureQueriesContext(connection) as captured:
                search_communes(query)
            sql = next(q["sql"] for q in captured if 'FROM "sectorisation_commune"' in q["sql"])
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
                used[kind] = sorted(index_names(cursor.fetchone()[0]))
        return used
