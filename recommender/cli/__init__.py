"""The ``stretchwise`` command line: each command parses its arguments, makes
one library call (``recommender.pipeline`` and friends) and writes the result.

The commands live by topic in ``routine`` (recommend, explain, batch),
``knowledge`` (check, exercises, schema) and ``faces`` (questionnaire, fhir,
serve); ``options`` holds what they share.
"""

from __future__ import annotations

import os
import sys

import click

from .faces import fhir, questionnaire, serve
from .follow_up import follow_up
from .knowledge import check, exercises, schema
from .routine import batch, explain, recommend

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="stretchwise")
def cli() -> None:
    """A stretching routine for neck and back pain, with the reasons behind each stretch.

    \b
        stretchwise recommend examples/desk-worker.yaml
        stretchwise recommend examples/desk-worker.yaml --format json
    """


for _command in (recommend, explain, follow_up, batch, check, schema, exercises, questionnaire, fhir, serve):
    cli.add_command(_command)


def main() -> None:
    """Entry point: run the CLI with Ctrl-C as exit code 130."""
    # pydantic looks for plugins by scanning every installed package's metadata when it
    # builds its first validator (about 20 ms of each start); Stretchwise uses none.
    # An explicit PYDANTIC_DISABLE_PLUGINS (even empty) is left as it is.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
