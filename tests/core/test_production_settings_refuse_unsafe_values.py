"""DJANGO_ENV=production refuses DEBUG and a placeholder or short SECRET_KEY at start-up."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    code = ("import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'hemaclinic.settings');"
            "from django.conf import settings; print(settings.DEBUG)")
    clean = {k: v for k, v in os.environ.items()
             if k not in {"SECRET_KEY", "DJANGO_ENV", "DATABASE_URL", "ALLOWED_HOSTS", "DEBUG"}}
    base = {"DJANGO_ENV": "production", "ALLOWED_HOSTS": "lab.example.org",
            "DATA_DIR": str(tmp_path)}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                          env={**clean, **base, **env}, capture_output=True, text=True,
                          timeout=60)


GOOD_KEY = secrets.token_urlsafe(50)


def test_a_long_random_key_starts_with_debug_off(tmp_path):
    result = _start(tmp_path, SECRET_KEY=GOOD_KEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False"]


def test_debug_is_refused_in_production(tmp_path):
    result = _start(tmp_path, SECRET_KEY=GOOD_KEY, DEBUG="1")
    assert result.returncode != 0
    assert "ImproperlyConfigured: DEBUG is refused when DJANGO_ENV=production" in result.stderr


@pytest.mark.parametrize("key", [
    "change-me-to-50-random-characters",  # deploy/hemaclinic.env.example
    "change-me-to-50-random-characters-change-me-to-50-random",
    "django-insecure-" + "x1y2z3" * 10,
    "a" * 64,
    "short-but-random-Qx81",
])
def test_a_placeholder_or_short_key_is_refused(tmp_path, key):
    result = _start(tmp_path, SECRET_KEY=key)
    assert result.returncode != 0
    assert "SECRET_KEY looks like a placeholder or is too short" in result.stderr
