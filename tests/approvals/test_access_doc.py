"""docs/access.md is the stage table as the code has it."""
from django.core.management import call_command


def test_the_access_page_is_current():
    call_command("access_table", "--check")
