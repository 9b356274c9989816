# Django's English date and time, with the time zone: "Dec. 5, 2026, 2:37 p.m. CET".
DATETIME_FORMAT = "N j, Y, P T"
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
