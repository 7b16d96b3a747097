"""Messages the Material frame (viewflow) sends without marking them for translation. They are listed
here so that makemessages puts them in our catalogs; the snackbar template translates a message when it
shows it (templates/viewflow/includes/snackbar.html)."""
from django.utils.translation import gettext_noop

FRAME_MESSAGES = (
    gettext_noop("No objects selected"),
    # the heading of the side menu's list of sections (viewflow/includes/site_menu.html)
    gettext_noop("Applications"),
    # the task lists' menu and bulk actions (viewflow/workflow/workflow_menu.html, includes/list_bulk_actions.html),
    # which viewflow's own Chinese catalogue leaves empty
    gettext_noop("Inbox"),
    gettext_noop("Queue"),
    gettext_noop("Archive"),
    gettext_noop("Processes"),
    gettext_noop("Pick an action"),
    gettext_noop("Assign selected tasks"),
    gettext_noop("Unassign selected tasks"),
)
