# Dates that read one way to every reader (no 12/02/2026, no "a.m."): day, month name, year,
# 24-hour time, as the PDF prints them. Django's defaults are American.
DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
