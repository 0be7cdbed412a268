"""The one error type raised for bad input files."""


class DataFormatError(ValueError):
    """An input file is missing, unreadable or malformed.

    The message always starts with the file (and, where there is one, the
    record: image id, pair index) and says what is wrong, so it can be shown to
    the user as is.
    """
