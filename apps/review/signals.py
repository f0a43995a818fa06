"""What the review announces to the stages above it (which review never imports).

`case_signed` is sent inside the signing transaction, once the Signature row is written, with
`signature=`. A receiver that starts background work does it on commit, so a signature that is
rolled back starts nothing.
"""

from __future__ import annotations

from django.dispatch import Signal

case_signed = Signal()
