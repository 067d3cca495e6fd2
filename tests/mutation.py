"""`make mutate`: mutation testing of the code that must never be wrong, and tests/MUTATION.md.

mutmut (configured under [tool.mutmut] in pyproject.toml) makes small mutants of the critical
modules (a flipped comparison, a dropped argument, a changed constant) and runs, for each, the
tests that exercise the mutated function. A mutant no test notices is a gap: either a test is
written that kills it, or it is shown equivalent (it cannot change behaviour) in
tests/mutation_equivalents.toml, whose reasons this report prints beside it.

Embedded PostgreSQL and Redis are started once for the whole run, not once per mutant, with
one database and one Redis database per mutant run side by side (SLOTS, one per core): each
pytest session claims a free slot (see claim_slot, called from tests/conftest.py).
Not part of `make test` or CI: it takes hours.
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "tests" / "MUTATION.md"
EQUIVALENTS = ROOT / "tests" / "mutation_equivalents.toml"
# Killed, or never run (a run stopped part-way): nothing to show beyond a count.
UNREPORTED = ("killed", "not checked")
RESULT = re.compile(r"^\s+(?P<name>\S+): (?P<status>.+)$")
# mutmut names a mutant after its function: module.x_function__mutmut_N or module.xǁClassǁ...
MODULE = re.compile(r"^(?P<module>.+?)\.xǁ|^(?P<plain>.+?)\.x_")
SLOTS = os.cpu_count() or 1


def main(argv: list[str]) -> int:
    """Run mutmut over the critical modules and write tests/MUTATION.md; with --report, only
    write the report from the results mutmut has kept so far (a run stopped half-way, say).
    Mutant names or globs (`'app.ingest.upsert*'`) re-run just those, say after a new test."""
    env = dict(os.environ)
    mutmut = [sys.executable, "-m", "mutmut"]
    if "--report" not in argv:
        from app.core import embedded

        home = Path(tempfile.mkdtemp(prefix="storeflow-mutate-"))
        for slot in range(SLOTS):
            embedded.start_postgres(home, f"storeflow_mutate_{slot}")
        env.update(MUTATE_HOME=str(home), MUTATE_SLOTS=str(SLOTS),
                   MUTATE_REDIS_URL=embedded.start_redis(home, persist=False),
                   MUTATE_DATABASE_URL=embedded.start_postgres(home, "storeflow_mutate_0"))
        refresh_unmutated()
        subprocess.run([*mutmut, "run", "--max-children", str(SLOTS), *argv], cwd=ROOT,
                       env=env, check=True)
    listing = subprocess.run([*mutmut, "results", "--all", "true"], cwd=ROOT, env=env,
                             check=True, capture_output=True, text=True).stdout
    results = [(m["name"], m["status"]) for m in map(RESULT.match, listing.splitlines()) if m]
    diffs = {name: diff(name) for name, status in results if status not in UNREPORTED}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    REPORT.write_text(report(results, diffs, equivalents(), commit))
    print(f"wrote {REPORT.relative_to(ROOT)}")
    return 0


def refresh_unmutated() -> None:
    """Bring mutmut's copy of the code up to date for the files it does not mutate: it copies
    them once, so after a change elsewhere (a module the critical ones call) its tests would
    run against the old version. The mutated modules it regenerates itself when they change."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    mutated = {ROOT / path for path in config["only_mutate"]}
    copy = ROOT / "mutants"
    if not copy.exists():
        return
    for folder in config["source_paths"]:
        for source in (ROOT / folder).rglob("*"):
            target = copy / source.relative_to(ROOT)
            if source.is_file() and source not in mutated and "__pycache__" not in source.parts \
                    and (not target.exists() or target.read_bytes() != source.read_bytes()):
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)


@contextmanager
def claim_slot() -> Iterator[dict[str, str] | None]:
    """In a pytest session under `make mutate`, hold a free slot for the session and give the
    settings that point it at the slot's own database, Redis database and temporary folder
    (pytest empties its basetemp at start: a shared one would pull files from under a
    neighbour, as the default folder's pruning would from under a `make test` beside it).
    Elsewhere, None."""
    if "MUTATE_SLOTS" not in os.environ:
        yield None
        return
    home = Path(os.environ["MUTATE_HOME"])
    while True:
        for slot in range(int(os.environ["MUTATE_SLOTS"])):
            with open(home / f"slot-{slot}.lock", "w") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                base = os.environ["MUTATE_DATABASE_URL"]
                yield {"TEST_DATABASE_URL": base.replace("storeflow_mutate_0",
                                                         f"storeflow_mutate_{slot}"),
                       "REDIS_URL": f"{os.environ['MUTATE_REDIS_URL']}?db={slot}",
                       "basetemp": str(home / f"pytest-{slot}")}
                return
        time.sleep(0.05)


def diff(name: str) -> str:
    """The mutant's diff, from mutmut itself (in this process: a `mutmut show` per survivor
    would spend a second each starting Python)."""
    from mutmut.__main__ import find_mutant, get_diff_for_mutant

    os.chdir(ROOT)
    return get_diff_for_mutant(name, path=find_mutant(name).path)


def equivalents() -> dict[str, str]:
    """Survivors shown equivalent: mutant name -> why it cannot change behaviour."""
    if not EQUIVALENTS.exists():
        return {}
    return tomllib.loads(EQUIVALENTS.read_text()).get("equivalent", {})


def module_of(name: str) -> str:
    match = MODULE.match(name)
    return (match["module"] or match["plain"]) if match else name.rsplit(".", 1)[0]


def report(results: list[tuple[str, str]], diffs: dict[str, str], reasons: dict[str, str],
           commit: str) -> str:
    """The Markdown report: a row per module, then every survivor with its diff and reason."""
    by_module: dict[str, Counter] = defaultdict(Counter)
    for name, status in results:
        by_module[module_of(name)][status] += 1
    lines = ["# Mutation testing", "",
             "Written by `make mutate` (tests/mutation.py); do not edit by hand. A survivor is",
             "either killed by a new test or explained in tests/mutation_equivalents.toml.",
             "The mutants issue 23 listed, made by hand, are in tests/MUTANTS_BY_HAND.md.", "",
             f"Measured on commit `{commit}`.", "",
             "| module | mutants | killed | survived | shown equivalent | not run yet | other |",
             "|---|---|---|---|---|---|---|"]
    for module, counts in sorted(by_module.items()):
        names = [n for n, s in results if module_of(n) == module and s == "survived"]
        explained = sum(1 for n in names if n in reasons)
        other = (sum(counts.values()) - counts["killed"] - counts["survived"]
                 - counts["not checked"])
        lines.append(f"| `{module}` | {sum(counts.values())} | {counts['killed']} | "
                     f"{counts['survived'] - explained} | {explained} | {counts['not checked']} | "
                     f"{other} |")
    total = Counter(status for _, status in results)
    run = len(results) - total["not checked"]
    killed_or_explained = total["killed"] + sum(1 for n, s in results if s == "survived" and n in reasons)
    lines += ["", f"**{killed_or_explained} of the {run} mutants run killed or shown equivalent "
                  f"({100 * killed_or_explained / max(run, 1):.1f} %); {total['not checked']} of "
                  f"{len(results)} not run yet.**", ""]
    for name, status in results:
        if status in UNREPORTED:
            continue
        reason = reasons.get(name, "not killed yet" if status == "survived" else status)
        lines += [f"## `{name}`: {status}", "", f"{reason}", "", "```diff",
                  diffs[name].strip(), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
