"""The one exception hierarchy of Consortia.

Every error the kernel raises on purpose derives from `ConsortiaError`, so an entry
point (gRPC servicer, CLI, config loader) can turn any of them into a clear message
for a person without catching unrelated bugs. Messages say what was expected and what
was found.
"""


class ConsortiaError(Exception):
    """Base of every deliberate Consortia error."""


class IdentityError(ConsortiaError):
    """An identity or certificate is malformed, unknown, or not valid for its MSP."""


class SignatureError(ConsortiaError):
    """A signature is malformed or does not verify."""


class PolicyError(ConsortiaError):
    """A policy cannot be parsed, converted or evaluated."""


class PolicySyntaxError(PolicyError):
    """A policy expression is malformed; `position` is the 0-based column of the mistake."""

    def __init__(self, message: str, text: str, position: int) -> None:
        self.message = message
        self.text = text
        self.position = position
        pointer = " " * position + "^"
        super().__init__(f"{message} at column {position + 1}\n  {text}\n  {pointer}")


class MessageError(ConsortiaError):
    """A Fabric protobuf message is malformed or inconsistent."""


class ConfigError(ConsortiaError):
    """A configuration file is invalid; `problems` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))
