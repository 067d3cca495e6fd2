"""`python -m bench`: run every benchmark in turn at its default size (each appends to
bench/RESULTS.md). Run one with its own options: `python -m bench.engine --runs 20000`."""
from bench import audience, campaign, dkim, engine, ingress, mail, recommendations, segments, ui

if __name__ == "__main__":
    for benchmark in (ingress, engine, audience, segments, mail, dkim, campaign, recommendations,
                      ui):
        benchmark.main()
