from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    # An app only so that its pages and management commands are found; it has no models.
    name = "apps.workflow"
    label = "workflow"
    verbose_name = "Workflow"
