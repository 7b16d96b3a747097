"""Programs, batches, applications and their state machine, revisions, attachments, opinions and audit."""
