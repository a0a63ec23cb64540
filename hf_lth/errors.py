"""The one exception type for bad user input, so that the CLI can print it as one sentence."""


class LTHInputError(ValueError):
    """Bad input from the user (a file, a column, a value, a flag), with a message that names it.

    The CLI prints the message alone and exits with status 2; library users catch it as `ValueError`.
    """
