"""Importing the settings writes nothing to disk. The development secret key is kept by
manage.py at start-up and the filesystem broker's folders are made when Celery is configured."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLEARED = {"SECRET_KEY", "DJANGO_ENV", "DATABASE_URL", "ALLOWED_HOSTS", "DEBUG", "STATIC_ROOT",
           "MEDIA_ROOT", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}


def _python(code: str, data_dir: Path, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update({"DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT),
                "DJANGO_SETTINGS_MODULE": "hemaclinic.settings"})
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_importing_the_settings_writes_nothing(tmp_path):
    data, cwd = tmp_path / "data", tmp_path / "cwd"
    cwd.mkdir()
    out = _python("from django.conf import settings; print(len(settings.SECRET_KEY))", data, cwd)
    assert int(out) >= 50
    assert not data.exists()
    assert _files(cwd) == []


def test_start_up_keeps_the_development_key_for_the_next_processes(tmp_path):
    data = tmp_path / "data"
    keep = ("from hemaclinic import settings; settings.development_secret_key_keep();"
            "print(settings.SECRET_KEY)")
    first = _python(keep, data, tmp_path)
    key_file = data / ".secret_key"
    assert key_file.read_text() == first                # the key this process used is kept
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert _python("from hemaclinic import settings; print(settings.SECRET_KEY)",
                   data, tmp_path) == first
    assert _python(keep, data, tmp_path) == first       # kept once, never replaced


def test_celery_makes_the_filesystem_broker_folders_when_configured(tmp_path):
    data = tmp_path / "data"
    _python("from hemaclinic.celery import app; print(app.conf.broker_url)", data, tmp_path)
    assert _files(data) == ["broker", "broker/control", "broker/processed", "broker/queue"]
