from django.apps import AppConfig


class SmearsConfig(AppConfig):
    name = "apps.smears"
    label = "smears"
    verbose_name = "Smears"
