from django.apps import AppConfig


class HemogramsConfig(AppConfig):
    name = "apps.hemograms"
    label = "hemograms"
    verbose_name = "Hemograms"
