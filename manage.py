#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hemaclinic.settings")
    if os.environ["DJANGO_SETTINGS_MODULE"] == "hemaclinic.settings":
        # Start-up, not the settings import, keeps a development install's secret key.
        from hemaclinic.settings import development_secret_key_keep

        development_secret_key_keep()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
