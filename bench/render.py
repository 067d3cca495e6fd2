"""Email rendering: each ported email (issue 18) drawn from its block design through MJML
against the same email from its Jinja templates (css-inline over hand-kept tables), in the same
run, then assembled into the MIME message the outbox sends. The issue's target: rendering with
blocks keeps the mail benchmark at or above today's emails per second per worker, so the ratio
blocks / Jinja should be >= 1.0 (or close enough not to move bench/mail.py's figure).

`python -m bench.render --repeat 200`
"""
from __future__ import annotations

import argparse
import time
from unittest import mock

from app.mail import mime, render as rendering
from bench.harness import load_note, record
from tests.test_email_templates import CASES

PORTED = [(template, context) for template, variant, context, _ in CASES
          if variant == "full" and rendering.default_design(template) is not None]


def per_second(repeat: int, jinja: bool) -> float:
    """Emails per second, rendered and assembled, over every ported email `repeat` times."""
    patch = mock.patch.object(rendering, "default_design", lambda template: None) if jinja \
        else mock.patch.object(rendering, "default_design", rendering.default_design)
    with patch:
        for template, context in PORTED:  # warm caches: templates, compiled texts, designs
            rendering.render(template, dict(context))
        started = time.perf_counter()
        for _ in range(repeat):
            for template, context in PORTED:
                rendered = rendering.render(template, dict(context))
                mime.assemble([("Subject", rendered.subject)], rendered.text, rendered.html)
        return repeat * len(PORTED) / (time.perf_counter() - started)


def main(repeat: int = 100) -> None:
    note = load_note()
    jinja = per_second(repeat, jinja=True)
    blocks = per_second(repeat, jinja=False)
    jinja_again = per_second(repeat, jinja=True)  # the load moves: bracket the blocks run
    baseline = (jinja + jinja_again) / 2
    record("Email rendering, blocks vs Jinja (bench/render.py)", [
        note, "",
        f"{len(PORTED)} ported emails ({', '.join(t for t, _ in PORTED)}), their `full` test "
        f"contexts, {repeat} rounds; render + MIME assembly in one process.", "",
        "| path | emails per s | ms per email | ratio to Jinja |", "|---|---|---|---|",
        f"| Jinja templates + css-inline (before, mean of two runs around) | {baseline:.0f} | "
        f"{1000 / baseline:.2f} | 1.00 |",
        f"| block design -> MJML -> MRML | {blocks:.0f} | {1000 / blocks:.2f} | "
        f"{blocks / baseline:.2f} |",
    ])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=100)
    main(parser.parse_args().repeat)
