"""The one exception type for mistakes a user can fix.

Every user-facing error of the library and of the command-line tools is a
`UserError`: its message names the option, field or file and what is wrong with
it ("Received: ..."). Command-line scripts catch it and exit with status 2 and
the message, without a stack trace. It subclasses `ValueError`, so code that
already expects Keras-style `ValueError`s keeps working.
"""


class UserError(ValueError):
    """A bad option, configuration field, file or input, described for a user."""
