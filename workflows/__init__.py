"""viewflow flows of the programs, inbox, deadlines, reminders, notifications and delegation."""
