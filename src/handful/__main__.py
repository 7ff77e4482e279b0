"""``python -m handful``: the ``handful`` command, for when the venv's ``bin/`` is not on PATH."""

from handful.cli.main import run

if __name__ == "__main__":
    run()
