from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "apps.reports"
    label = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        # Signing (apps.review) announces a signature; the result message follows from here.
        from . import receivers  # noqa: F401
