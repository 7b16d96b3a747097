"""Running a management command in a test and getting its exit code (0, or the code it exited with)."""
from django.core.management import call_command


def run(name, *args):
    try:
        call_command(name, *args)
    except SystemExit as exc:
        return exc.code
    return 0
