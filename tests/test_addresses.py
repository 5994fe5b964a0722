"""Addresses between text and numbers, as the store keeps them twice."""

from __future__ import annotations

import ipaddress

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from minewatch.model.addresses import ipv4_numbers, ipv4_text


@settings(deadline=None, max_examples=300)
@given(
    st.lists(
        st.one_of(
            st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(str), st.text(max_size=20), st.none()
        ),
        max_size=50,
    )
)
def test_ipv4_round_trip_and_everything_else_null(values: list[str | None]) -> None:
    numbers = ipv4_numbers(pa.array(values, pa.string())).to_pylist()
    for text, number in zip(values, numbers, strict=True):
        try:
            expected = int(ipaddress.IPv4Address(text)) if text is not None else None
        except ValueError:
            expected = None
        assert number == expected, text
    back = ipv4_text(pa.array(numbers, pa.uint32())).to_pylist()
    assert back == [str(ipaddress.IPv4Address(n)) if n is not None else None for n in numbers]
