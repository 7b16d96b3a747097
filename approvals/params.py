"""Ids from a query string or a form field, as the web pages read them (the API's IdField and IntegerFilter
do the same for the API): ASCII digits only, within the database's integer. `str.isdigit` says yes to "²"
and "٣", which `int` refuses or reads as another number, and a number of 5,000 digits is refused by `int`
itself; either was a 500, and a 20-digit id overflowed SQLite. Whatever is not an id is None, for the
page to answer with its own message (404, or the form's error)."""

ID_MAX = 2**31 - 1
_ID_MAX_DIGITS = len(str(ID_MAX))


def query_id(value) -> int | None:
    """The positive id `value` spells (surrounding blanks allowed), or None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not (0 < len(value) <= _ID_MAX_DIGITS and value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if 1 <= number <= ID_MAX else None
