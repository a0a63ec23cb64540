"""Exceptions with one-sentence messages, so that the CLI can print them alone and exit non-zero."""


class LTHError(Exception):
    """Base class of the errors hf_lth reports to users as one sentence."""


class LTHInputError(LTHError, ValueError):
    """Bad input from the user (a file, a column, a value, a flag), with a message that names it.

    The CLI prints the message alone and exits with status 2; library users catch it as `ValueError`.
    """


class LTHHubError(LTHError, RuntimeError):
    """Pushing to the Hugging Face Hub failed (offline, no token, network); local results are untouched."""
