"""The policy language parser: what it accepts, what it builds, and how it refuses.

Fabric's `policydsl` writes signature policies as gates over quoted principals,
`AND('Org1MSP.peer', OutOf(1, 'Org2MSP.peer', 'Org3MSP.member'))`, and channel configs
add implicit meta policies such as `MAJORITY Endorsement`. Every malformed input must
raise `PolicySyntaxError` with a message saying what was expected and the 0-based
column (`position`) of the mistake.
"""

from __future__ import annotations

import pytest

from consortia.errors import PolicyError, PolicySyntaxError
from consortia.msp.identity import Role
from consortia.policy import (
    ImplicitMeta,
    MetaRule,
    OutOf,
    Principal,
    parse_policy,
    parse_signature_policy,
)

pytestmark = pytest.mark.unit

A_PEER = Principal("A", Role.PEER)
B_PEER = Principal("B", Role.PEER)
C_MEMBER = Principal("C", Role.MEMBER)


# --- valid forms -------------------------------------------------------------------


@pytest.mark.parametrize("gate", ["AND", "And", "and", "aNd"])
def test_and_in_any_letter_case_needs_every_item(gate: str) -> None:
    rule = parse_signature_policy(f"{gate}('A.peer', 'B.peer', 'C.member')")
    assert rule == OutOf(3, (A_PEER, B_PEER, C_MEMBER))


@pytest.mark.parametrize("gate", ["OR", "Or", "or"])
def test_or_in_any_letter_case_needs_one_item(gate: str) -> None:
    rule = parse_signature_policy(f"{gate}('A.peer', 'B.peer', 'C.member')")
    assert rule == OutOf(1, (A_PEER, B_PEER, C_MEMBER))


@pytest.mark.parametrize("gate", ["OutOf", "outof", "OUTOF", "outOf"])
def test_outof_in_any_letter_case_keeps_its_count(gate: str) -> None:
    rule = parse_signature_policy(f"{gate}(2, 'A.peer', 'B.peer', 'C.member')")
    assert rule == OutOf(2, (A_PEER, B_PEER, C_MEMBER))


def test_single_and_double_quotes_mean_the_same() -> None:
    single = parse_signature_policy("AND('A.peer', 'B.peer')")
    double = parse_signature_policy('AND("A.peer", "B.peer")')
    mixed = parse_signature_policy("AND(\"A.peer\", 'B.peer')")
    assert single == double == mixed == OutOf(2, (A_PEER, B_PEER))


def test_whitespace_and_newlines_are_ignored_between_tokens() -> None:
    text = "\n  OutOf (\t2 ,\n    'A.peer' ,\r\n    OR( 'B.peer' ,'C.member' )\n  )  \n"
    assert parse_signature_policy(text) == OutOf(2, (A_PEER, OutOf(1, (B_PEER, C_MEMBER))))


def test_no_whitespace_at_all() -> None:
    assert parse_signature_policy("OutOf(1,'A.peer','B.peer')") == OutOf(1, (A_PEER, B_PEER))


def test_nesting_keeps_the_tree_shape_and_order() -> None:
    text = "AND('A.peer', OutOf(1, 'B.peer', AND('C.member', OR('A.admin', 'B.client'))))"
    expected = OutOf(
        2,
        (
            A_PEER,
            OutOf(
                1,
                (
                    B_PEER,
                    OutOf(2, (C_MEMBER, OutOf(1, (Principal("A", Role.ADMIN), Principal("B", Role.CLIENT))))),
                ),
            ),
        ),
    )
    assert parse_signature_policy(text) == expected


def test_a_bare_principal_is_a_policy() -> None:
    assert parse_signature_policy("'Org1MSP.peer'") == Principal("Org1MSP", Role.PEER)
    assert parse_signature_policy('  "Org1MSP.admin"  ') == Principal("Org1MSP", Role.ADMIN)


def test_single_item_gates() -> None:
    assert parse_signature_policy("AND('A.peer')") == OutOf(1, (A_PEER,))
    assert parse_signature_policy("OutOf(1, 'A.peer')") == OutOf(1, (A_PEER,))


def test_msp_id_with_dots_and_dashes_splits_at_the_last_dot() -> None:
    assert parse_signature_policy("'org1.example-MSP.peer'") == Principal("org1.example-MSP", Role.PEER)
    assert parse_signature_policy("OR('a-b.c.d.member')") == OutOf(1, (Principal("a-b.c.d", Role.MEMBER),))


@pytest.mark.parametrize("role", list(Role))
def test_every_role(role: Role) -> None:
    assert parse_signature_policy(f"'Org1MSP.{role.label}'") == Principal("Org1MSP", role)


def test_outof_count_equal_to_the_item_count_is_accepted() -> None:
    assert parse_signature_policy("OutOf(3, 'A.peer', 'B.peer', 'C.member')").n == 3  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "rule", "sub_policy"),
    [
        ("ANY Readers", MetaRule.ANY, "Readers"),
        ("ALL Admins", MetaRule.ALL, "Admins"),
        ("MAJORITY Endorsement", MetaRule.MAJORITY, "Endorsement"),
        ("  MAJORITY   Lifecycle-Endorsement_2 ", MetaRule.MAJORITY, "Lifecycle-Endorsement_2"),
    ],
)
def test_parse_policy_reads_implicit_meta(text: str, rule: MetaRule, sub_policy: str) -> None:
    assert parse_policy(text) == ImplicitMeta(rule=rule, sub_policy=sub_policy)


def test_parse_policy_also_reads_signature_policies() -> None:
    assert parse_policy("OR('A.peer', 'B.peer')") == OutOf(1, (A_PEER, B_PEER))
    assert parse_policy("'A.peer'") == A_PEER


def test_implicit_meta_rule_is_upper_case_only_as_in_fabric() -> None:
    with pytest.raises(PolicySyntaxError, match="unknown gate 'any'"):
        parse_policy("any Readers")


def test_meta_thresholds() -> None:
    assert [MetaRule.ANY.threshold(n) for n in range(5)] == [0, 1, 1, 1, 1]
    assert [MetaRule.ALL.threshold(n) for n in range(5)] == [0, 1, 2, 3, 4]
    assert [MetaRule.MAJORITY.threshold(n) for n in range(6)] == [0, 1, 2, 2, 3, 3]


@pytest.mark.parametrize(
    "text",
    [
        "'A.peer'",
        "AND('A.peer', 'B.peer')",
        "OR('A.peer', 'B.peer', 'C.member')",
        "OR('A.peer')",
        "AND('A.peer')",
        "OutOf(2, 'A.peer', 'B.peer', 'C.member')",
        "OutOf(1, 'A.peer')",
        "and('org1.example-MSP.orderer', or(\"B.client\", outof(2, 'A.admin', 'B.admin', 'C.admin')))",
        "AND('A.peer', 'A.peer')",
    ],
)
def test_str_reparses_to_the_same_rule(text: str) -> None:
    rule = parse_signature_policy(text)
    assert parse_signature_policy(str(rule)) == rule
    assert parse_policy(str(rule)) == rule


def test_str_of_gates_uses_fabric_spelling() -> None:
    assert str(parse_signature_policy("and('A.peer','B.peer')")) == "AND('A.peer', 'B.peer')"
    assert str(parse_signature_policy("or('A.peer','B.peer')")) == "OR('A.peer', 'B.peer')"
    assert str(parse_signature_policy("outof(2,'A.peer','B.peer','C.member')")) == (
        "OutOf(2, 'A.peer', 'B.peer', 'C.member')"
    )


@pytest.mark.parametrize("text", ["ANY Readers", "ALL Admins", "MAJORITY Endorsement"])
def test_str_of_implicit_meta_reparses(text: str) -> None:
    policy = parse_policy(text)
    assert str(policy) == text
    assert parse_policy(str(policy)) == policy


# --- malformed inputs --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment", "position"),
    [
        # unclosed parenthesis: reported at the end, naming where the gate opened
        ("AND('A.peer', 'B.peer'", r"expected '\)' to close AND\( opened at column 1, found the end", 22),
        ("OR('A.peer', AND('B.peer'", r"to close AND\( opened at column 14, found the end", 25),
        # items not separated by a comma
        ("AND('A.peer' 'B.peer')", r"expected '\)' to close AND\( opened at column 1, found \"'\"", 13),
        # unknown gates
        ("NOT('A.peer')", "unknown gate 'NOT': expected AND, OR or OutOf", 0),
        ("OR('A.peer', XOR('B.peer'))", "unknown gate 'XOR'", 13),
        ("ANY Readers extra", "unknown gate 'ANY'", 0),
        # gate without parenthesis
        ("AND 'A.peer'", r"expected '\(' after AND, found \"'\"", 4),
        # unknown role: the column of the role inside the quotes
        ("AND('A.peer', 'Org1MSP.boss')", "unknown role 'boss' in 'Org1MSP.boss': expected one of member, admin", 23),
        ("'A.PEER'", "unknown role 'PEER'", 3),
        # missing quotes
        ("AND('A.peer)", "unterminated quoted principal", 4),
        ("OR('A.peer', \"B.peer')", "unterminated quoted principal", 13),
        ("AND(A.peer')", "unknown gate 'A'", 4),
        # OutOf without a count
        ("OutOf('A.peer', 'B.peer')", "OutOf needs a count first", 6),
        ("outof( , 'A.peer')", "outof needs a count first", 7),
        ("OutOf(2 'A.peer', 'B.peer')", "expected ',' after the count of OutOf", 8),
        # counts that can never be met, or are always met
        ("OutOf(0, 'A.peer')", "OutOf count must be at least 1, found 0", 6),
        ("OutOf(-1, 'A.peer')", "OutOf count must be at least 1, found -1", 6),
        ("OutOf(3, 'A.peer', 'B.peer')", r"OutOf\(3, \.\.\.\) can never be satisfied: it lists only 2 item", 6),
        ("OR('C.member', OUTOF( 4, 'A.peer'))", r"OUTOF\(4, \.\.\.\) can never be satisfied", 22),
        # trailing garbage
        ("'A.peer' x", "unexpected 'x' after the end of the policy", 9),
        ("AND('A.peer'))", "unexpected '\\)' after the end of the policy", 13),
        ("OR('A.peer'), 'B.peer'", "unexpected ',' after the end of the policy", 12),
        # empty input
        ("", "expected a principal like 'Org1MSP.peer' or a gate .*found the end", 0),
        ("  \n ", "found the end", 4),
        ("AND()", "expected a principal .*found '\\)'", 4),
        # stray commas
        (",", "expected a principal .*found ','", 0),
        ("AND('A.peer',)", "found '\\)'", 13),
        ("OR(,'A.peer')", "found ','", 3),
        # principals without a role
        ("'Org1MSP'", "'Org1MSP' is not a principal: expected 'MSPID.role'", 0),
        ("AND('A.peer', 'Org1MSP.')", "'Org1MSP.' is not a principal", 14),
        ("'.peer'", "'.peer' is not a principal", 0),
        ("'Org 1.peer'", "'Org 1.peer' is not a principal", 0),
    ],
)
def test_malformed_policy_is_refused_at_the_right_column(text: str, fragment: str, position: int) -> None:
    with pytest.raises(PolicySyntaxError, match=fragment) as info:
        parse_signature_policy(text)
    assert info.value.position == position
    assert info.value.text == text
    # The rendered message names the 1-based column too.
    assert f"at column {position + 1}" in str(info.value)


def test_rendered_error_points_at_the_column() -> None:
    with pytest.raises(PolicySyntaxError, match="unknown role 'boss'") as info:
        parse_signature_policy("OR('A.peer', 'B.boss')")
    lines = str(info.value).splitlines()
    assert lines[1] == "  OR('A.peer', 'B.boss')"
    assert lines[2] == "  " + " " * 16 + "^"


@pytest.mark.parametrize("value", [None, 42, b"AND('A.peer')", ["'A.peer'"]])
def test_non_string_input_is_refused(value: object) -> None:
    kind = type(value).__name__
    with pytest.raises(PolicySyntaxError, match=f"a policy must be a string, found {kind}") as info:
        parse_signature_policy(value)  # type: ignore[arg-type]
    assert info.value.position == 0
    with pytest.raises(PolicySyntaxError, match=f"a policy must be a string, found {kind}") as info:
        parse_policy(value)  # type: ignore[arg-type]
    assert info.value.position == 0


def test_syntax_errors_are_policy_errors() -> None:
    with pytest.raises(PolicyError, match="unterminated quoted principal"):
        parse_policy("'A.peer")


def test_a_newline_inside_the_quotes_is_not_part_of_a_principal() -> None:
    # Fabric's principal regexp must match the whole quoted text; a trailing newline
    # inside the quotes is not silently dropped.
    with pytest.raises(PolicySyntaxError, match=r"'A\.peer\\n' is not a principal") as info:
        parse_signature_policy("'A.peer\n'")
    assert info.value.position == 0


def test_count_must_be_ascii_digits() -> None:
    # ARABIC-INDIC DIGIT ONE is a Unicode digit but not a count Fabric would read.
    with pytest.raises(PolicySyntaxError, match="OutOf needs a count first") as info:
        parse_signature_policy("OutOf(\u0661, 'A.peer')")
    assert info.value.position == 6


def test_nesting_depth_is_bounded() -> None:
    depth = 40
    text = "AND(" * depth + "'A.peer'" + ")" * depth
    with pytest.raises(PolicySyntaxError, match="nested deeper than 32 levels") as info:
        parse_signature_policy(text)
    # The child of the 33rd gate is one level too deep.
    assert info.value.position == 33 * 4


def test_nesting_up_to_the_limit_is_accepted() -> None:
    depth = 32
    rule = parse_signature_policy("OR(" * depth + "'A.peer'" + ")" * depth)
    for _ in range(depth):
        assert isinstance(rule, OutOf) and rule.n == 1 and len(rule.rules) == 1
        rule = rule.rules[0]
    assert rule == A_PEER
