"""Event-pattern text → :class:`EventPattern`, validated as EventBridge does.

The checks and their messages follow ``JsonRuleCompiler`` of ``aws/event-ruler``
(the matcher EventBridge uses); docs/event-patterns.md lists them and the
decisions taken where the documentation is silent.
"""

from __future__ import annotations

import ipaddress
import re

from kmslog.eventpatterns import ast as A
from kmslog.eventpatterns.errors import EventPatternError
from kmslog.eventpatterns.jsontext import JArray, JObject, JScalar, JValue, Num, read
from kmslog.eventpatterns.numbers import comparable_or_error

MAX_PATTERN_LENGTH = 4096  # TestEventPattern / PutRule: EventPattern length constraint
OR = "$or"
# Match-type names cannot be field names inside $or (event-ruler's reserved names).
RESERVED_IN_OR = frozenset(
    {
        "anything-but",
        "exists",
        "prefix",
        "suffix",
        "numeric",
        "cidr",
        "equals-ignore-case",
        "wildcard",
        "exact",
    }
)
NUMERIC_OPS = ("=", "<", "<=", ">", ">=")
_INT32 = re.compile(r"[+-]?[0-9]+")
_IPV4 = re.compile(
    r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
)
_IPV6_CHARS = re.compile(r"[0-9A-Fa-f:.]+")


def ip_bytes(text: str) -> bytes | None:
    """The address of an IPv4 dotted quad or an IPv6 literal (no zone), else None."""
    if _IPV4.fullmatch(text):
        return ipaddress.IPv4Address(text).packed
    if ":" in text and _IPV6_CHARS.fullmatch(text):
        try:
            return ipaddress.IPv6Address(text).packed
        except ValueError:
            return None
    return None


def cidr_range(text: str) -> tuple[bytes, bytes] | str:
    """(low, high) addresses of a ``cidr`` value, or event-ruler's error message."""
    parts = text.split("/")
    while parts and parts[-1] == "":  # Java's split drops trailing empty strings
        parts.pop()
    if len(parts) != 2:
        return "Malformed CIDR, one '/' required"
    if not _INT32.fullmatch(parts[1]) or not -(2**31) <= int(parts[1]) < 2**31:
        return "Malformed CIDR, mask bits must be an integer"
    bits = int(parts[1])
    if bits < 0:
        return "Malformed CIDR, mask bits must not be negative"
    base = ip_bytes(parts[0])
    if base is None:
        return f"Nonstandard IP address: {parts[0]}"
    width = len(base) * 8
    if len(base) == 4 and bits > 31:
        return "IPv4 mask bits must be < 32"
    if len(base) == 16 and bits > 127:
        return "IPv6 mask bits must be < 128"
    # event-ruler's range starts at the address as written, not at the network
    # address: "10.0.0.5/24" covers 10.0.0.5 … 10.0.0.255 (decision E7).
    host = (1 << (width - bits)) - 1
    high = (int.from_bytes(base, "big") | host).to_bytes(len(base), "big")
    return base, high


def wildcard_error(text: str) -> str | None:
    """event-ruler's WildcardParser check; positions count UTF-8 bytes of the value
    in quotes, as its messages do."""
    raw = ('"' + text + '"').encode("utf-8")
    i = 0
    while i < len(raw):
        b = raw[i]
        if b == 0x2A:
            if i + 1 < len(raw) and raw[i + 1] == 0x2A:
                return f"Consecutive wildcard characters at pos {i}"
        elif b == 0x5C:
            if i + 1 < len(raw) and raw[i + 1] in (0x2A, 0x5C):
                i += 2
                continue
            return f"Invalid escape character at pos {i}"
        i += 1
    return None


class _Compiler:
    def __init__(self) -> None:
        self.path: list[str] = []

    def fail(self, message: str, node: JValue | int) -> EventPatternError:
        pos = node if isinstance(node, int) else node.pos
        return EventPatternError(message, pos, ".".join(self.path))

    def obj(self, node: JObject, in_or: bool) -> A.Obj:
        if not node.pairs:
            raise self.fail("Empty objects are not allowed", node)
        entries: list[A.Entry] = []
        for name, kpos, value in node.pairs:
            if name == OR:
                entries.append(self.any_of(value))
                continue
            if in_or and name in RESERVED_IN_OR:
                raise self.fail(
                    f"{name} is Ruler reserved fieldName which cannot be used inside {OR}.", kpos
                )
            self.path.append(name)
            if isinstance(value, JObject):
                entries.append(A.Nested(name, self.obj(value, in_or)))
            elif isinstance(value, JArray):
                entries.append(A.Leaf(name, self.values(value)))
            else:
                self.path.pop()
                raise self.fail(f'"{name}" must be an object or an array', value)
            self.path.pop()
        return A.Obj(tuple(entries))

    def any_of(self, value: JValue) -> A.AnyOf:
        if not isinstance(value, JArray):
            raise self.fail(f"It must be an Array followed with {OR}.", value)
        branches = []
        for item in value.items:
            if not isinstance(item, JObject):
                raise self.fail(f"Only JSON object is allowed in array of {OR} relationship.", item)
            branches.append(self.obj(item, True))
        if len(branches) < 2:
            raise self.fail(f"There must have at least 2 Objects in {OR} relationship.", value)
        return A.AnyOf(tuple(branches))

    def values(self, node: JArray) -> tuple[A.Matcher, ...]:
        out: list[A.Matcher] = []
        for item in node.items:
            if isinstance(item, JObject):
                out.append(self.expression(item))
            elif isinstance(item, JScalar):
                out.append(A.Exact(item.value))
            else:
                raise self.fail("Match value must be String, number, true, false, or null", item)
        if not out:
            raise self.fail("Empty arrays are not allowed", node)
        return tuple(out)

    def only_key(self, node: JObject) -> None:
        if len(node.pairs) != 1:
            raise self.fail("Only one key allowed in match expression", node.pairs[1][1])

    def string_of(self, node: JObject, message: str) -> str:
        value = node.pairs[0][2]
        if not (isinstance(value, JScalar) and isinstance(value.value, str)):
            raise self.fail(message, value)
        return value.value

    def expression(self, node: JObject) -> A.Matcher:
        if not node.pairs:
            raise self.fail("Match expression name not found", node)
        name, _, value = node.pairs[0]
        if name == "exact":
            text = self.string_of(node, "exact match pattern must be a string")
            self.only_key(node)
            return A.ExactOp(text)
        if name in ("prefix", "suffix"):
            if isinstance(value, JObject):
                return self.affix_ignore_case(name, value, node)
            text = self.string_of(node, f"{name} match pattern must be a string")
            self.only_key(node)
            return A.Prefix(text) if name == "prefix" else A.Suffix(text)
        if name == "numeric":
            if not isinstance(value, JArray):
                raise self.fail("Value of numeric must be an array.", value)
            numeric = self.numeric(value)
            if len(node.pairs) != 1:
                raise self.fail("Too many elements in numeric expression", node.pairs[1][1])
            return numeric
        if name == "anything-but":
            return self.anything_but(value, node)
        if name == "exists":
            if not (isinstance(value, JScalar) and isinstance(value.value, bool)):
                raise self.fail("exists match pattern must be either true or false.", value)
            self.only_key(node)
            return A.Exists(value.value)
        if name == "cidr":
            # event-ruler's message for a non-string cidr value names prefix
            text = self.string_of(node, "prefix match pattern must be a string")
            rng = cidr_range(text)
            if isinstance(rng, str):
                raise self.fail(rng, value)
            self.only_key(node)
            return A.Cidr(text)
        if name == "equals-ignore-case":
            text = self.string_of(node, "equals-ignore-case match pattern must be a string")
            self.only_key(node)
            return A.EqualsIgnoreCase(text)
        if name == "wildcard":
            text = self.string_of(node, "wildcard match pattern must be a string")
            bad_wildcard = wildcard_error(text)
            if bad_wildcard:
                raise self.fail(bad_wildcard, value)
            self.only_key(node)
            return A.Wildcard(text)
        raise self.fail(f"Unrecognized match type {name}", node.pairs[0][1])

    def affix_ignore_case(self, name: str, inner: JObject, node: JObject) -> A.Matcher:
        title = name.capitalize()
        if not inner.pairs:
            raise self.fail(f"{title} expression name not found", inner)
        op, opos, value = inner.pairs[0]
        if op != "equals-ignore-case":
            raise self.fail(f"Unsupported {name} pattern: {op}", opos)
        if not (isinstance(value, JScalar) and isinstance(value.value, str)):
            raise self.fail("equals-ignore-case match pattern must be a string", value)
        if len(inner.pairs) != 1:
            raise self.fail("Only one key allowed in match expression", inner.pairs[1][1])
        self.only_key(node)
        text = value.value
        return A.Prefix(text, True) if name == "prefix" else A.Suffix(text, True)

    def number(self, node: JValue, message: str) -> Num:
        if not (isinstance(node, JScalar) and isinstance(node.value, Num)):
            raise self.fail(message, node)
        scaled, why = comparable_or_error(node.value.text)
        if scaled is None:
            raise self.fail(why, node)
        return node.value

    def numeric(self, node: JArray) -> A.Numeric:
        items = node.items
        end = node.pos

        def item(i: int) -> JValue | None:
            return items[i] if i < len(items) else None

        first = item(0)
        if not (isinstance(first, JScalar) and isinstance(first.value, str)):
            shown = _text(first)
            raise self.fail(f"Invalid member in numeric match: {shown}", first or end)
        op = first.value
        if op not in NUMERIC_OPS:
            raise self.fail(f"Unrecognized numeric range operator: {op}", first)
        operand = item(1)
        if operand is None:
            raise self.fail(f"Value of {op} must be numeric", end)
        lower = self.number(operand, f"Value of {op} must be numeric")
        terms = [(op, lower)]
        if op in ("=", "<", "<="):
            if len(items) > 2:
                raise self.fail("Too many elements in numeric expression", items[2])
            return A.Numeric(tuple(terms))
        if len(items) == 2:
            return A.Numeric(tuple(terms))
        second = items[2]
        if not (isinstance(second, JScalar) and isinstance(second.value, str)):
            raise self.fail(f"Bad value in numeric range: {_text(second)}", second)
        op2 = second.value
        if op2 not in ("<", "<="):
            raise self.fail(f"Bad numeric range operator: {op2}", second)
        operand2 = item(3)
        if operand2 is None:
            raise self.fail(f"Value of {op2} must be numeric", end)
        upper = self.number(operand2, f"Value of {op2} must be numeric")
        if len(items) > 4:
            raise self.fail("Too many terms in numeric range expression", items[4])
        lo, hi = comparable_or_error(lower.text)[0], comparable_or_error(upper.text)[0]
        assert lo is not None and hi is not None
        if lo >= hi:
            raise self.fail("Bottom must be less than top", operand2)
        terms.append((op2, upper))
        return A.Numeric(tuple(terms))

    def anything_but(self, value: JValue, node: JObject) -> A.AnythingBut:
        kind = A.ButKind.VALUES
        wrapper: JObject | None = None
        if isinstance(value, JObject):
            wrapper = value
            if not value.pairs:
                raise self.fail("Anything-But expression name not found", value)
            op, opos, inner = value.pairs[0]
            try:
                kind = A.ButKind(op)
            except ValueError:
                kind = A.ButKind.VALUES
            if op == "" or kind is A.ButKind.VALUES:
                raise self.fail(f"Unsupported anything-but pattern: {op}", opos)
            value = inner
        ok_single = isinstance(value, JScalar) and isinstance(value.value, str | Num)
        if not (isinstance(value, JArray) or ok_single):
            raise self.fail(
                "Value of anything-but must be an array or single string/number value.", value
            )
        items = value.items if isinstance(value, JArray) else (value,)
        values: list[str | Num] = []
        if kind is A.ButKind.VALUES:
            has_number = has_string = False
            for it in items:
                v = it.value if isinstance(it, JScalar) else it
                if isinstance(v, str):
                    has_string = True
                    values.append(v)
                elif isinstance(v, Num):
                    has_number = True
                    values.append(self.number(it, ""))
                else:
                    raise self.fail(
                        "Inside anything but list, start|null|boolean is not supported."
                        if isinstance(value, JArray)
                        else "Inside anything-but list, start|null|boolean is not supported.",
                        it,
                    )
            if isinstance(value, JArray) and has_number == has_string:
                raise self.fail(
                    "Inside anything but list, either all values are number or string, "
                    "mixed type is not supported",
                    value,
                )
        else:
            for it in items:
                v = it.value if isinstance(it, JScalar) else None
                if not isinstance(v, str):
                    if kind is A.ButKind.EQUALS_IGNORE_CASE:
                        msg = (
                            "Inside anything-but/equals-ignore-case list, "
                            "number|start|null|boolean is not supported."
                        )
                    elif kind is A.ButKind.WILDCARD:
                        msg = "wildcard match pattern must be a string"
                    else:
                        msg = "prefix/suffix match pattern must be a string"
                    raise self.fail(msg, it)
                if kind in (A.ButKind.PREFIX, A.ButKind.SUFFIX) and v == "":
                    raise self.fail("Null prefix/suffix not allowed", it)
                if kind is A.ButKind.WILDCARD:
                    problem = wildcard_error(v)
                    if problem:
                        raise self.fail(problem, it)
                values.append(v)
        if wrapper is not None and len(wrapper.pairs) != 1:
            raise self.fail("Too many elements in numeric expression", wrapper.pairs[1][1])
        if len(node.pairs) != 1:
            raise self.fail("Too many elements in numeric expression", node.pairs[1][1])
        return A.AnythingBut(kind, tuple(values), isinstance(value, JArray))


def _text(node: JValue | None) -> str:
    if node is None:
        return "]"
    if isinstance(node, JScalar):
        v = node.value
        if isinstance(v, Num):
            return v.text
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "true" if v else "false"
        return v
    return "{" if isinstance(node, JObject) else "["


def parse(text: str) -> A.EventPattern:
    """Parse and validate an event pattern; raises only :class:`EventPatternError`."""
    if len(text) > MAX_PATTERN_LENGTH:
        raise EventPatternError(
            f"Event pattern is longer than {MAX_PATTERN_LENGTH} characters", MAX_PATTERN_LENGTH
        )
    tree = read(text, "event pattern")
    if not isinstance(tree, JObject):
        raise EventPatternError("Filter is not an object", tree.pos)
    return A.EventPattern(_Compiler().obj(tree, False))
