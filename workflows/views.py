"""Task pages of the application flow."""
from django.shortcuts import redirect
from django.views import View


class StageTaskView(View):
    """A stage task opens the application's page, where the actions of that stage are offered."""

    def dispatch(self, request, *args, **kwargs):
        task = request.activation.task
        return redirect("approvals:detail", pk=task.process.application.pk)
