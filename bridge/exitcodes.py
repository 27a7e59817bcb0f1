"""Named exit codes, shared by every subcommand so scripts can tell outcomes apart."""

RET_OK = 0
RET_INVALID_RECORDS = 1  # the run finished, some records were rejected (see the errors output)
RET_USAGE = 2  # bad command line (argparse uses 2 as well)
RET_COPYBOOK_INVALID = 3  # the copybook or mapping does not compile
RET_NOT_FOUND = 4  # an input file or COPY member does not exist
RET_FATAL_DATA = 5  # the input cannot be framed at all (e.g. a broken RDW chain)
RET_CONNECT = 6  # Kafka or Redis unreachable
RET_UNRECONCILED = 7  # records in != events out + audit entries: something was lost
RET_INTERNAL = 70  # a bug of ours (EX_SOFTWARE); BRIDGE_DEBUG=1 prints the traceback
RET_IO_ERROR = 74  # an output cannot be written: full device, no such directory (EX_IOERR)
RET_INTERRUPTED = 130
RET_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a pipeline cut short


class CommandFailed(Exception):  # noqa: N818  (carries an exit code to the CLI, not an error)
    """Stop a subcommand with an exit code after its message was printed.

    Here rather than with the subcommands' helpers so that the CLI can catch it without
    importing them (start-up time).
    """

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status
