# Django's Dutch date and time, with the time zone: "5 december 2026 14:37 CET".
DATETIME_FORMAT = "j F Y H:i T"
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
