"""Test helpers shared across folders: real PBC images, CellaVision-style exports, and the
database address a separate worker process connects to."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
PBC = DATASETS / "pbc"


def pbc_images(cls: str, n: int) -> list[Path]:
    """The first `n` real CellaVision images of a PBC class (sorted, so stable)."""
    folder = PBC / cls
    if not folder.is_dir():
        pytest.fail(f"The PBC dataset is missing: expected {folder} (see ../shared/datasets).")
    files = sorted(folder.glob("*.jpg"))[:n]
    if len(files) < n:
        pytest.fail(f"Only {len(files)} images in {folder}, {n} needed.")
    return files


def export_zip(classes: dict[str, int], top: str = "export") -> bytes:
    """A CellaVision-style zip: one class folder per class, real PBC images inside."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for cls, n in classes.items():
            for path in pbc_images(cls, n):
                archive.write(path, f"{top}/{cls}/{path.name}")
    return buffer.getvalue()


def browser_login(page, live_server, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    """Log in through the real login page."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    # Technicians land on the specimens, biologists on their worklist.
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def worker_database_url() -> str:
    """The test database as a DATABASE_URL for a worker started in another process."""
    from django.conf import settings
    from django.db import connection

    db = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def case_page_html(client, user, specimen, language: str) -> str:  # type: ignore[no-untyped-def]
    """The case page of ``specimen`` as ``user`` sees it in ``language`` (200 asserted)."""
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    response = client.get(f"/review/{specimen.accession}/")
    assert response.status_code == 200
    return response.content.decode()
