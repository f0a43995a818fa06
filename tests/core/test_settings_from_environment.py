from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from hemaclinic.env import envbool, envint

ROOT = Path(__file__).resolve().parents[2]


def test_envbool_and_envint_fail_loudly_on_bad_values(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        envbool("X_FLAG", False)
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_NUM"):
        envint("X_NUM", 1)
    monkeypatch.setenv("X_NUM", "0")
    with pytest.raises(ImproperlyConfigured, match="minimum"):
        envint("X_NUM", 1, minimum=1)
    monkeypatch.setenv("X_FLAG", "Yes")
    assert envbool("X_FLAG", False) is True


def _settings_in_subprocess(env: dict[str, str]) -> subprocess.CompletedProcess:
    code = ("import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'hemaclinic.settings');"
            "from django.conf import settings;"
            "print(settings.DEBUG, settings.DATABASES['default']['ENGINE'])")
    clean = {k: v for k, v in os.environ.items()
             if k not in {"SECRET_KEY", "DJANGO_ENV", "DATABASE_URL", "ALLOWED_HOSTS", "DEBUG"}}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _settings_in_subprocess({"DJANGO_ENV": "production", "ALLOWED_HOSTS": "lab.example",
                                      "DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_embedded_default_is_sqlite_in_the_data_folder(tmp_path):
    result = _settings_in_subprocess({"DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "django.db.backends.sqlite3"]
