"""Kubernetes resource quantities (``100m``, ``128Mi``, ``1e3``): parsing and canonical form.

The API server stores container requests and limits in canonical form (``0.5`` becomes ``500m``,
``1024Mi`` becomes ``1Gi``, ``0.1Gi`` becomes ``107374182400m``), after rounding them up to
milli precision. The scheduler and the QoS computation compare quantities by value. This follows
k8s.io/apimachinery/pkg/api/resource (Quantity.String / CanonicalizeBytes).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction


class QuantityFormat(Enum):
    DECIMAL_SI = "DecimalSI"
    BINARY_SI = "BinarySI"
    DECIMAL_EXPONENT = "DecimalExponent"


_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {exp: suffix for suffix, exp in _DECIMAL.items()}
_BINARY_SUFFIX = {k: suffix for suffix, k in _BINARY.items()}

_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
)


class QuantityError(ValueError):
    """Not a valid quantity; the message is the API server's."""


@dataclass(frozen=True)
class Quantity:
    value: Fraction
    format: QuantityFormat

    @classmethod
    def parse(cls, text: str | int | float) -> Quantity:
        """Parse a quantity; the same few strings come back again and again, so results are cached."""
        return _parse(text) if not isinstance(text, bool) else _parse_uncached(text)

    @classmethod
    def _parse(cls, text: str | int | float) -> Quantity:
        if isinstance(text, bool):
            raise QuantityError(
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
            )
        if isinstance(text, int | float):
            text = repr(text) if isinstance(text, float) else str(text)
        match = _QUANTITY.match(text.strip())
        if match is None:
            raise QuantityError(
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
            )
        number = Fraction(match["number"])
        suffix = match["suffix"] or ""
        if suffix in _BINARY:
            return cls(number * 1024 ** _BINARY[suffix], QuantityFormat.BINARY_SI)
        if suffix[:1] in ("e", "E"):
            return cls(number * Fraction(10) ** int(suffix[1:]), QuantityFormat.DECIMAL_EXPONENT)
        return cls(number * Fraction(10) ** _DECIMAL[suffix], QuantityFormat.DECIMAL_SI)

    def round_up_milli(self) -> Quantity:
        """What SetDefaults_ResourceList does before a pod is stored."""
        scaled = self.value * 1000
        return Quantity(Fraction(math.ceil(scaled), 1000), self.format)

    @property
    def milli(self) -> int:
        return math.ceil(self.value * 1000)

    def canonical(self) -> str:
        value = self.value
        fmt = self.format
        if fmt is QuantityFormat.BINARY_SI and (abs(value) < 1024 or value.denominator != 1):
            fmt = QuantityFormat.DECIMAL_SI
        if value == 0:
            return "0"
        sign = "-" if value < 0 else ""
        value = abs(value)
        if fmt is QuantityFormat.BINARY_SI:
            mantissa, power = int(value), 0
            while power < 6 and mantissa % 1024 == 0:
                mantissa //= 1024
                power += 1
            return f"{sign}{mantissa}{_BINARY_SUFFIX.get(power, '')}"
        mantissa, exponent = _decimal_parts(value)
        if fmt is QuantityFormat.DECIMAL_EXPONENT:
            return f"{sign}{mantissa}" + (f"e{exponent}" if exponent else "")
        if exponent > 18:
            mantissa, exponent = mantissa * 10 ** (exponent - 18), 18
        if exponent < -9:
            # Below nano precision the API server rounds up to the nearest nano.
            mantissa, exponent = math.ceil(Fraction(mantissa, 10 ** (-9 - exponent))), -9
        return f"{sign}{mantissa}{_DECIMAL_SUFFIX[exponent]}"


@functools.lru_cache(maxsize=4096)
def _parse(text: str | int | float) -> Quantity:
    return Quantity._parse(text)


def _parse_uncached(text: str | int | float) -> Quantity:
    return Quantity._parse(text)


def _decimal_parts(value: Fraction) -> tuple[int, int]:
    """``value == mantissa * 10**exponent`` with an integer mantissa and exponent % 3 == 0."""
    exponent = 0
    while value.denominator != 1:
        value *= 10
        exponent -= 1
        if exponent < -30:
            value = Fraction(math.ceil(value))
            break
    mantissa = int(value)
    while mantissa and mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    while exponent % 3:
        mantissa *= 10
        exponent -= 1
    return mantissa, exponent


@functools.lru_cache(maxsize=4096)
def milli_of(text: str | int | float) -> int:
    """Milli-units, rounded up (CPU requests as the scheduler counts them); cached."""
    return Quantity.parse(text).milli


@functools.lru_cache(maxsize=4096)
def units_of(text: str | int | float) -> int:
    """Whole units, rounded down (bytes of memory, pods); cached."""
    return int(Quantity.parse(text).value)


def canonical(text: str | int | float) -> str:
    """A container request/limit as the API server stores it (rounded up to milli, canonical)."""
    return Quantity.parse(text).round_up_milli().canonical()


def milli_value(text: str | int | float) -> int:
    return Quantity.parse(text).milli


def value(text: str | int | float) -> Fraction:
    return Quantity.parse(text).value
