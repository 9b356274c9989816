"""One date-and-time format per language, always with the time zone (FORMAT_MODULE_PATH).

Pages, the console (Django admin's lists and details too) and emails all render a
moment through DATETIME_FORMAT or SHORT_DATETIME_FORMAT; both are the same here and
end with the time zone's name, so "03:00" never leaves a reader guessing which
03:00. Only these two names are set: every other format is Django's for the language.
"""
