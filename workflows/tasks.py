"""Periodic work of the flows, run by Celery beat."""
from celery import shared_task


@shared_task(acks_late=True)
def fire_due_timers() -> int:
    """Fire viewflow timers that are due (the end of public-notice periods)."""
    from viewflow.workflow.timers import fire_due_timers as fire

    return fire()
