# As Django's French formats, with "à" before the time as French writes it ("7 décembre 2026
# à 08:00"); the short forms spell the year first so that no reader takes the day for the month.
DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y à H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
