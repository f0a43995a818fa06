from django.apps import AppConfig


class HemogramsConfig(AppConfig):
    name = "apps.hemograms"
    label = "hemograms"
    verbose_name = "Hemograms"

    def ready(self) -> None:
        from apps.patients.signals import specimen_changed

        from .receivers import specimen_changed_read_again

        specimen_changed.connect(specimen_changed_read_again,
                                 dispatch_uid="hemograms.specimen_changed")
