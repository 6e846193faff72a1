"""Parse Fabric's policy language.

    AND('Org1MSP.peer', OutOf(1, 'Org2MSP.peer', 'Org3MSP.member'))
    OR("A.admin", "B.admin")        'Org1MSP.peer'        MAJORITY Endorsement

Gates are AND, OR and OutOf in any letter case (as Fabric's `policydsl` accepts And,
and, AND ...); principals are quoted `'MSPID.role'` with role member, admin, client,
peer or orderer. A bare principal is accepted as a one-principal policy. Errors name
the column of the mistake. Unlike Fabric, counts that can never be met
(`OutOf(3, 'A.peer', 'B.peer')`) and OutOf(0, ...), which is always met, are refused.
"""

from __future__ import annotations

import re

from consortia.errors import PolicySyntaxError
from consortia.msp.identity import Role
from consortia.policy.model import ImplicitMeta, MetaRule, OutOf, Policy, Principal, SignatureRule

_ROLES = {role.label: role for role in Role}
_PRINCIPAL = re.compile(r"([A-Za-z0-9.\-]+)\.([A-Za-z]+)")
_META = re.compile(r"^\s*(ANY|ALL|MAJORITY)\s+([A-Za-z][A-Za-z0-9_\-]*)\s*$")
_MAX_DEPTH = 32


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str, position: int | None = None) -> PolicySyntaxError:
        return PolicySyntaxError(message, self.text, self.pos if position is None else position)

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str, context: str) -> None:
        if self.peek() != char:
            found = repr(self.text[self.pos]) if self.pos < len(self.text) else "the end"
            raise self.fail(f"expected {char!r} {context}, found {found}")
        self.pos += 1

    def rule(self, depth: int) -> SignatureRule:
        if depth > _MAX_DEPTH:
            raise self.fail(f"policy is nested deeper than {_MAX_DEPTH} levels")
        char = self.peek()
        if char in ("'", '"'):
            return self.principal()
        if char.isalpha():
            return self.gate(depth)
        if not char:
            raise self.fail("expected a principal like 'Org1MSP.peer' or a gate AND(...), OR(...), OutOf(n, ...), found the end")
        raise self.fail(f"expected a principal like 'Org1MSP.peer' or a gate AND(...), OR(...), OutOf(n, ...), found {char!r}")

    def principal(self) -> Principal:
        start = self.pos
        quote = self.text[self.pos]
        end = self.text.find(quote, self.pos + 1)
        if end < 0:
            raise self.fail("unterminated quoted principal", start)
        body = self.text[start + 1 : end]
        match = _PRINCIPAL.fullmatch(body)
        if not match:
            raise self.fail(f"{body!r} is not a principal: expected 'MSPID.role'", start)
        msp_id, role_name = match.groups()
        role = _ROLES.get(role_name)
        if role is None:
            raise self.fail(
                f"unknown role {role_name!r} in {body!r}: expected one of {', '.join(_ROLES)}",
                start + 1 + len(msp_id) + 1,
            )
        self.pos = end + 1
        return Principal(msp_id=msp_id, role=role)

    def gate(self, depth: int) -> OutOf:
        start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] == "_"):
            self.pos += 1
        name = self.text[start : self.pos]
        kind = name.lower()
        if kind not in ("and", "or", "outof"):
            raise self.fail(f"unknown gate {name!r}: expected AND, OR or OutOf", start)
        self.expect("(", f"after {name}")
        count: int | None = None
        count_pos = 0
        if kind == "outof":
            self.skip_space()
            count_pos = self.pos
            digits = re.match(r"-?[0-9]+", self.text[self.pos :])
            if not digits:
                raise self.fail(f"{name} needs a count first, as in OutOf(2, 'A.peer', 'B.peer')")
            count = int(digits.group())
            self.pos += len(digits.group())
            self.expect(",", f"after the count of {name}")
        rules = [self.rule(depth + 1)]
        while self.peek() == ",":
            self.pos += 1
            rules.append(self.rule(depth + 1))
        self.expect(")", f"to close {name}( opened at column {start + 1}")
        if count is None:
            count = len(rules) if kind == "and" else 1
        elif count < 1:
            raise self.fail(f"{name} count must be at least 1, found {count}", count_pos)
        elif count > len(rules):
            raise self.fail(
                f"{name}({count}, ...) can never be satisfied: it lists only {len(rules)} item(s)", count_pos
            )
        return OutOf(n=count, rules=tuple(rules))


def parse_signature_policy(text: str) -> SignatureRule:
    """Parse a signature policy such as `AND('A.peer', 'B.peer')`."""
    if not isinstance(text, str):
        raise PolicySyntaxError(f"a policy must be a string, found {type(text).__name__}", str(text), 0)
    parser = _Parser(text)
    rule = parser.rule(0)
    parser.skip_space()
    if parser.pos != len(text):
        raise parser.fail(f"unexpected {text[parser.pos]!r} after the end of the policy")
    return rule


def parse_policy(text: str) -> Policy:
    """Parse either an implicit meta policy (`MAJORITY Endorsement`) or a signature policy."""
    match = _META.match(text) if isinstance(text, str) else None
    if match:
        return ImplicitMeta(rule=MetaRule[match.group(1)], sub_policy=match.group(2))
    return parse_signature_policy(text)
