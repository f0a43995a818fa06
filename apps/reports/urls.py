"""Mounted under specimens/<accession>/reports/ by hemaclinic/urls.py."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("<int:version>/<slug:language>.pdf", views.report_download, name="report_download"),
    path("<int:version>/<slug:language>/status/", views.report_status, name="report_status"),
    path("<int:version>/result.hl7", views.result_message_download,
         name="result_message_download"),
]
