"""Django's French formats (django/conf/locale/fr/formats.py), except where a time is shown:
« 14h15 », « 9h00 », as the agents and usagers write it, never « 14:15 » nor « 09h00 ». What a
form reads (the *_INPUT_FORMATS) stays Django's: an <input type="time"> sends « 14:15 »."""

TIME_FORMAT = r"G\hi"
DATETIME_FORMAT = r"j F Y à G\hi"
SHORT_DATETIME_FORMAT = r"d/m/Y à G\hi"
