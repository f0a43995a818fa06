# As Django's French formats, with a comma before the time as the PDF prints it; the short
# forms spell the year first so that no reader takes the day for the month.
DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
