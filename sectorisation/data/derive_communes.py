"""Derive `communes.csv`, the shipped list of France's communes, from Etalab's npm package
`@etalab/decoupage-administratif` (INSEE's Code officiel géographique, La Poste's postal codes and
INSEE's legal populations; data under the Licence Ouverte).

    python sectorisation/data/derive_communes.py                      # npm pack the pinned version
    python sectorisation/data/derive_communes.py --version 6.1.0      # another millésime
    python sectorisation/data/derive_communes.py --package-dir /tmp/dec/package   # already unpacked

Standard library only (plus `npm` when no --package-dir is given): it runs once, when a new
millésime comes out; the application only ever reads the CSV (`sectorisation/loading.py`), nothing
is fetched at run time.

One row per commune (commune-actuelle) and per arrondissement municipal (Paris, Lyon, Marseille),
sorted by INSEE code. Columns:

- insee_code, name, departement;
- zone: drom or com overseas, empty in métropole (the package's « metro »);
- parent: empty for a commune; for an arrondissement municipal, its commune (75056, 69123, 13055)
  (no « kind » column: the parent says it; with « metro » left implicit, the file is 1.3 MB, not 1.8);
- postal_codes: separated by a space (none for a few uninhabited COM territories);
- population: the legal population, empty when the package has none;
- former: what still designates the commune, separated by « | »: « CODE » for a former INSEE code
  (anciensCodes, after a merger), « CODE=Name » for a commune déléguée or associée (its own code when
  it differs from its chef-lieu's, else the chef-lieu's code, and its name), so that an old code or
  an old name still finds today's commune.

A commune déléguée or associée names the commune it belongs to today (`chefLieu`); when a code is
listed in one commune's anciensCodes and is another commune's déléguée or associée, the latter wins.
"""

import argparse
import csv
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@etalab/decoupage-administratif"
VERSION = "6.0.0"
LICENCE = "Licence Ouverte (Etalab)"
OUTPUT = Path(__file__).resolve().parent / "communes.csv"
COLUMNS = ["insee_code", "name", "departement", "zone", "parent", "postal_codes", "population", "former"]
ZONES = {"metro", "drom", "com"}
SUBORDINATE_TYPES = {"commune-deleguee", "commune-associee"}


def derive(entries: list[dict]) -> list[dict]:
    """The CSV rows (dicts keyed by COLUMNS) for the package's `communes.json` entries."""
    current = {e["code"]: e for e in entries if e["type"] == "commune-actuelle"}
    arrondissements = [e for e in entries if e["type"] == "arrondissement-municipal"]
    former: dict[str, set[str]] = {code: set() for code in current}

    named_codes = set()
    for entry in entries:
        if entry["type"] not in SUBORDINATE_TYPES:
            continue
        chef_lieu = entry["chefLieu"]
        if chef_lieu not in current:
            raise ValueError(f"{entry['code']} {entry['nom']}: chef-lieu {chef_lieu} is not a current commune")
        if entry["code"] != chef_lieu:
            named_codes.add(entry["code"])
        elif entry["nom"] == current[chef_lieu]["nom"]:
            continue  # the chef-lieu's own name: nothing to remember
        former[chef_lieu].add(f"{entry['code']}={entry['nom']}")
    for commune in current.values():
        for code in commune.get("anciensCodes", []):
            if code not in named_codes and code not in current:
                former[commune["code"]].add(code)

    rows = []
    for entry in [*current.values(), *arrondissements]:
        if entry["zone"] not in ZONES:
            raise ValueError(f"{entry['code']}: unknown zone {entry['zone']!r}")
        is_arrondissement = entry["type"] == "arrondissement-municipal"
        if is_arrondissement and entry["commune"] not in current:
            raise ValueError(f"{entry['code']}: commune {entry['commune']} is not a current commune")
        population = entry.get("population")
        rows.append(
            {
                "insee_code": entry["code"],
                "name": entry["nom"],
                "departement": entry["departement"],
                "zone": "" if entry["zone"] == "metro" else entry["zone"],
                "parent": entry["commune"] if is_arrondissement else "",
                "postal_codes": " ".join(sorted(set(entry.get("codesPostaux", [])))),
                "population": "" if population is None else str(population),
                "former": "|".join(sorted(former.get(entry["code"], set()), key=lambda item: (item[:5], item))),
            }
        )
    rows.sort(key=lambda row: row["insee_code"])
    return rows


def write_csv(rows: list[dict], output: Path, *, name: str, version: str) -> None:
    with output.open("w", encoding="utf-8", newline="") as file:
        file.write(
            f"# Source : {name} {version} (npm, Etalab), données sous {LICENCE}. Zone vide : métropole. "
            "Dérivé par sectorisation/data/derive_communes.py, ne pas modifier à la main.\n"
        )
        writer = csv.DictWriter(file, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def read_package(package_dir: Path) -> tuple[dict, list[dict]]:
    manifest = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    entries = json.loads((package_dir / "data" / "communes.json").read_text(encoding="utf-8"))
    return manifest, entries


def unpack_from_npm(version: str, into: Path) -> Path:
    """`npm pack` the package's tarball into `into` and unpack it; returns the package directory."""
    result = subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{version}", "--silent"],
        cwd=into,
        check=True,
        capture_output=True,
        text=True,
    )
    tarball = into / result.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as archive:
        if hasattr(tarfile, "data_filter"):  # Python ≥ 3.11.4: no path outside `into`, no links
            archive.extractall(into, filter="data")
        else:
            archive.extractall(into)  # npm's own tarball of a pinned version
    return into / "package"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default=VERSION, help=f"version of {PACKAGE} to npm pack (default {VERSION})")
    parser.add_argument("--package-dir", type=Path, help="an unpacked package (holding package.json and data/)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"CSV to write (default {OUTPUT})")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        package_dir = args.package_dir or unpack_from_npm(args.version, Path(tmp))
        manifest, entries = read_package(package_dir)
        if manifest.get("name") != PACKAGE:
            parser.error(f"{package_dir} holds {manifest.get('name')!r}, not {PACKAGE}")
        rows = derive(entries)
    write_csv(rows, args.output, name=manifest["name"], version=manifest["version"])
    arrondissements = sum(bool(row["parent"]) for row in rows)
    print(
        f"{args.output}: {len(rows) - arrondissements} communes, {arrondissements} arrondissements "
        f"({manifest['name']} {manifest['version']})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
