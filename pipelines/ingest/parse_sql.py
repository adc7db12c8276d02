"""SQL expressions that parse the text of one CSV field into its typed value, and say why when they cannot.

Each kind yields (value expression, error condition, reason code). They are built once per file from the
layout, then DuckDB evaluates them set-based over every row; no Python touches a row.
"""

from __future__ import annotations

from pipelines.ingest.layouts import Column

# The CATAIR check digit (REFERENCE.md section 2): characters mapped to digits (0-9 as is, A-I -> 1-9,
# J-R -> 1-9, S-Z -> 2-9), Luhn over the 10 base characters, doubling the even positions from the left.
_CHAR_DIGIT = (
    "(case when {c} between '0' and '9' then ascii({c}) - 48"
    " when {c} between 'A' and 'I' then ascii({c}) - 64"
    " when {c} between 'J' and 'R' then ascii({c}) - 73"
    " when {c} between 'S' and 'Z' then ascii({c}) - 81 end)"
)


def check_digit_sql(n: str) -> str:
    """SQL for the check digit of the 11-character entry number expression ``n`` (uses its first 10)."""
    terms = []
    for pos in range(1, 11):
        d = _CHAR_DIGIT.format(c=f"substr({n}, {pos}, 1)")
        terms.append(d if pos % 2 else f"(2 * {d} - case when 2 * {d} > 9 then 9 else 0 end)")
    return f"((10 - ({' + '.join(terms)}) % 10) % 10)"


def entry_number_sql(v: str) -> str:
    return f"upper(regexp_replace({v}, '[\\s-]', '', 'g'))"


def entry_check_sql(n: str) -> str:
    return (
        f"case when {n} is null then null"
        f" when not regexp_full_match({n}, '[A-Z0-9]{{3}}[0-9]{{8}}') then 'malformed'"
        f" when {check_digit_sql(n)} = cast(substr({n}, 11, 1) as integer) then 'valid'"
        f" else 'bad_check_digit' end"
    )


_MONEY_CLEAN = "regexp_replace({v}, '[\\s$,]', '', 'g')"


def parse_expressions(col: Column, v: str) -> tuple[str, str | None, str | None, str]:
    """(typed value SQL, SQL true when the text cannot be parsed, reason code, expected form) for text ``v``.

    ``v`` is already trimmed with empty strings turned into NULL; a NULL value is never a parse error here
    (the not-null rule is separate).
    """
    kind = col.kind
    if kind == "text":
        return v, None, None, ""
    if kind == "entry_number":
        return entry_number_sql(v), None, None, ""
    if kind == "code":
        up = f"upper({v})"
        if col.width:
            up = f"case when regexp_full_match({v}, '[0-9]+') then lpad({v}, {col.width}, '0') else {up} end"
        return up, None, None, ""
    if kind == "hts":
        digits = f"regexp_replace({v}, '[\\s.]', '', 'g')"
        padded = f"lpad({digits}, cast(length({digits}) + 1 as integer), '0')"
        value = f"case when length({digits}) in (7, 9) then {padded} else {digits} end"
        bad = f"not regexp_full_match({digits}, '[0-9]{{7,10}}')"
        return value, bad, "bad_hts", "an HTS number of 8 or 10 digits"
    if kind == "int":
        clean = f"regexp_replace({v}, ',', '', 'g')"
        return (
            f"try_cast({clean} as integer)",
            f"try_cast({clean} as integer) is null or not regexp_full_match({clean}, '-?[0-9]+')",
            "bad_integer",
            "a whole number",
        )
    if kind == "decimal":
        clean = f"regexp_replace({v}, ',', '', 'g')"
        return (
            f"try_cast({clean} as decimal(18,6))",
            f"not regexp_full_match({clean}, '-?[0-9]*\\.?[0-9]{{0,6}}') or try_cast({clean} as decimal(18,6)) is null",
            "bad_number",
            "a number with at most 6 decimals",
        )
    if kind == "money":
        s = _MONEY_CLEAN.format(v=v)
        neg = f"({s} like '(%)')"
        body = f"(case when {neg} then substr({s}, 2, length({s}) - 2) else {s} end)"
        ok = f"regexp_full_match({body}, '-?([0-9]+(\\.[0-9]{{1,2}})?|\\.[0-9]{{1,2}})')"
        value = f"case when {ok} then (case when {neg} then -1 else 1 end) * try_cast({body} as decimal(18,2)) end"
        return value, f"not {ok}", "bad_amount", "an amount like 1234.56, $1,234.56 or (12.00), at most 2 decimals"
    if kind == "date":
        value = f"cast(coalesce(try_strptime({v}, '%m/%d/%Y'), try_strptime({v}, '%Y-%m-%d')) as date)"
        return value, f"{value} is null", "bad_date", "a date MM/DD/YYYY or YYYY-MM-DD"
    if kind == "flag":
        up = f"upper({v})"
        value = (
            f"case when {up} in ('Y', 'YES', 'TRUE', 'T', '1', 'X') then true"
            f" when {up} in ('N', 'NO', 'FALSE', 'F', '0') then false end"
        )
        return value, f"{value} is null", "bad_flag", "Y or N"
    raise ValueError(f"unknown column kind {kind!r}")
