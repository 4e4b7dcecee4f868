"""The base of gnp's expected failures, and how ``gnp`` tells them from bugs.

Every error the library raises on purpose (a params file that is wrong, a
locked lake, an API that refuses, a stage that failed, a check that did not
pass) is a ``GnpError``; its message alone tells a person what went wrong and
what to do, so ``gnp`` prints just that line. Anything else that reaches
``gnp`` is a bug and keeps its traceback.

This module sits at the bottom of the library: it imports nothing from gnp.
"""

from __future__ import annotations


class GnpError(Exception):
    """Every expected failure; its message says what went wrong and what to do.

    ``exit_code`` is what ``gnp`` exits with: 1 for a failure of the work itself.
    """

    exit_code = 1


class UsageError(GnpError, ValueError):
    """What a command was given is wrong (a params file, an option, a table or stage name).

    Fix the command or the file and run again; ``gnp`` exits with 2, as for a bad option.
    A ``ValueError`` too, as these were before they had a base of their own.
    """

    exit_code = 2


class SetupError(GnpError, RuntimeError):
    """This machine lacks something a command needs (Delta's jars, a browser); the message says how to install it.

    A ``RuntimeError`` too, as these were before they had a base of their own.
    """
