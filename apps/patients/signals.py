"""What the patients app tells the apps above it, which it never imports."""

from __future__ import annotations

from django.dispatch import Signal

# A specimen's registered facts changed (its patient or its collection time): the apps that
# compare them with what they hold (apps.hemograms: a CBC file's collection time) read them
# again. Sent with ``specimen``.
specimen_changed = Signal()
