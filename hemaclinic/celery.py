"""The Celery application: configuration comes from Django settings (CELERY_* names)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hemaclinic.settings")

app = Celery("hemaclinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

FILESYSTEM_BROKER_FOLDERS = ("data_folder_in", "data_folder_out", "processed_folder",
                             "control_folder")


@app.on_after_configure.connect
def broker_folders_create(sender: Celery, **kwargs: Any) -> None:
    """Make the filesystem broker's folders, which kombu expects to exist.

    Runs when Celery reads its configuration (a worker starting, or the web process queueing its
    first task), so that importing the settings writes nothing.
    """
    if not str(sender.conf.broker_url or "").startswith("filesystem://"):
        return
    options = sender.conf.broker_transport_options or {}
    for key in FILESYSTEM_BROKER_FOLDERS:
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
