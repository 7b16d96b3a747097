"""Messages the Material frame (viewflow) sends without marking them for translation. They are listed
here so that makemessages puts them in our catalogs; the snackbar template translates a message when it
shows it (templates/viewflow/includes/snackbar.html)."""
from django.utils.translation import gettext_noop

FRAME_MESSAGES = (
    gettext_noop("No objects selected"),
    # the heading of the side menu's list of sections (viewflow/includes/site_menu.html)
    gettext_noop("Applications"),
)
