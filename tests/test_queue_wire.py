"""The binary arrays custody/queue_wire.py sends to and reads from PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg.pq import ExecStatus
from sqlalchemy.engine import make_url

from custody.queue_wire import _array, _array_param, _int8_array, run
from domain.errors import IntegrityError
from tests.netcut import NetCut

BYTEA, INT8 = 17, 20
BYTEA_ARRAY, INT8_ARRAY = 1001, 1016
elements = st.lists(st.none() | st.binary(max_size=40), max_size=12)


@given(elements)
def test_an_array_read_back_is_the_array_sent(values: list[bytes | None]) -> None:
    assert _array(_array_param(BYTEA, values)) == values


@given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=12))
def test_the_packed_bigint_array_is_the_general_encoding(numbers: list[int]) -> None:
    general = _array_param(INT8, [n.to_bytes(8, "big", signed=True) for n in numbers])
    assert _int8_array(numbers) == general


def test_a_null_array_reads_as_no_elements() -> None:
    assert _array(None) == []  # array_agg over no rows


def test_a_two_dimensional_array_is_refused() -> None:
    two_d = (2).to_bytes(4, "big") + bytes(8) + (1).to_bytes(4, "big") * 4
    with pytest.raises(IntegrityError, match="2-dimensional"):
        _array(two_d)


@pytest.fixture
def pq(pg_database_url: str) -> Iterator[psycopg.Connection[object]]:
    dsn = make_url(pg_database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        yield conn


@pytest.mark.postgres
@pytest.mark.parametrize("values", [[], [b""], [b"\x00\xff", None, b"abc"], [None]])
def test_postgresql_reads_the_bytea_arrays_we_send_as_we_mean_them(
        pq: psycopg.Connection[object], values: list[bytes | None]) -> None:
    result = pq.pgconn.exec_params(
        b"SELECT cardinality($1::bytea[]), $1::bytea[]::text, $1::bytea[]",
        [_array_param(BYTEA, values)], [BYTEA_ARRAY], [1], 1)
    assert result.error_message == b""
    count, text = result.get_value(0, 0), result.get_value(0, 1)
    assert count is not None and text is not None
    assert int.from_bytes(count, "big") == len(values)
    expected_text = "{" + ",".join(
        "NULL" if v is None else '"\\\\x' + v.hex() + '"' for v in values) + "}"
    assert text.decode() == expected_text
    assert _array(result.get_value(0, 2)) == values


@pytest.mark.postgres
def test_postgresql_reads_the_bigint_arrays_we_send_as_we_mean_them(
        pq: psycopg.Connection[object]) -> None:
    numbers = [0, -1, 2**62, None]
    encoded = [None if n is None else n.to_bytes(8, "big", signed=True) for n in numbers]
    result = pq.pgconn.exec_params(b"SELECT $1::bigint[]::text",
                                   [_array_param(INT8, encoded)], [INT8_ARRAY], [1], 0)
    assert result.get_value(0, 0) == b"{0,-1,4611686018427387904,NULL}"


@pytest.mark.postgres
def test_postgresql_reads_the_packed_bigint_array(pq: psycopg.Connection[object]) -> None:
    result = pq.pgconn.exec_params(b"SELECT $1::bigint[]::text",
                                   [_int8_array([7, -(2**63), 2**63 - 1])], [INT8_ARRAY], [1], 0)
    assert result.get_value(0, 0) == b"{7,-9223372036854775808,9223372036854775807}"


@pytest.mark.postgres
def test_a_line_lost_mid_statement_is_an_operational_error(pg_database_url: str) -> None:
    # The log turns OperationalError into StorageUnavailable (retry later, HTTP 503);
    # error_from_result alone would make it a DatabaseError (a plain storage error).
    url = make_url(pg_database_url)
    with NetCut((url.host or "127.0.0.1", url.port or 5432)) as link:
        dsn = url.set(drivername="postgresql", host="127.0.0.1", port=link.port)
        with psycopg.connect(dsn.render_as_string(hide_password=False), autocommit=True) as pg:
            assert run(pg, "SELECT 1").status == ExecStatus.TUPLES_OK
            link.cut()
            with pytest.raises(psycopg.OperationalError, match="closed the connection"):
                run(pg, "SELECT 1")
