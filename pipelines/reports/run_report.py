"""The auditors' run report: one self-contained HTML page per run (inline CSS, inline SVG charts, no script).

``build_run_report(warehouse, out_dir, run, data_docs_index)`` reads the warehouse through a read-only DuckDB
connection, with set-based queries only, and writes ``out_dir/run_report.html`` under a temporary name first,
renamed when complete (a crash never leaves half a report where an auditor would open it).

What it shows, each section a chart and the table behind it, the query beside the table:

0. key figures                                            reporting.rpt_key_figures (computed there, laid out here)
1. entries by eligibility status and by failed rule       marts.fct_entry_eligibility, marts.fct_entry_rule_results
2. refund pipeline by status and age (days before as_of)  marts.fct_claim_status
3. interest variance distribution                         marts.fct_entry_interest
4. offsets by type                                        marts.fct_offsets
5. rows quarantined by reason, refused files              quarantine.rejected_rows, ingest.file_ledger
6. what the exports lack                                  ingest.file_ledger, the report layouts
7. data-quality checks, Data Docs link, export files      ``run["checks"]``, ``run["exports"]`` (cross-checked with
                                                          export.exported_entries)

The marts' columns are fixed by their YAML (dbt_project/models/marts/): the report reads them by name. A section
whose table is not in the warehouse (a run that stopped before dbt built it) says "not built yet".

A run that did not succeed starts with a banner: the blocking checks that failed (a GX check's failed
expectations with the keys of their failing rows), the steps that failed with their error, the steps that never
started, whether this run exported any CAPE file and whether it replaced the analysts' copy.

``run`` carries the run's facts: ``run_id``, ``as_of`` (ISO date), ``started_at``, ``finished_at``, ``status``;
optionally ``checks`` (dicts: ``name``, ``asset``, ``passed``, ``blocking``, ``gate``, ``severity``,
``description``, ``failing_rows``, ``failures``: see ``pipelines.reports.run_outcome.check_rows``), ``exports`` (dicts:
``file``, ``rows``, ``sha256``, ``principal``; the export manifest's ``file_name`` / ``ieepa_principal_amount``
are accepted too), ``failures`` (``steps``: step and message, ``run``: the run's failure message, ``not_run``:
step keys) and ``published`` (the run id of the analysts' copy in place). Every check is listed, none cut off.
Money is DECIMAL from the warehouse and formatted as Decimal (thousands separators, 2 decimals).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from html import escape
from pathlib import Path
from urllib.parse import quote

import duckdb

from pipelines.reports.charts import Bar, column_chart, hbar_chart, stacked_hbar_chart
from pipelines.warehouse.layouts import REPORTS

REPORT_NAME = "run_report.html"

SECTIONS = {
    "summary": "Key figures",
    "eligibility": "1. Entries by eligibility status and reason",
    "pipeline": "2. Refund pipeline by status and age",
    "interest": "3. Interest variance distribution",
    "offsets": "4. Offsets by type",
    "quarantine": "5. Quarantined rows and refused files",
    "layouts": "6. What your exports lack",
    "quality": "7. Data-quality checks and export files",
    "tables": "Appendix: tables in the warehouse",
}

STATUS_COLOURS = {
    "eligible": "#2f7d4f",
    "needs_review": "#b7791f",
    "ineligible": "#b23b3b",
    "already_accepted": "#3d6a99",
}
OUTCOME_COLOURS = {"ineligible": "#b23b3b", "needs_review": "#b7791f", "warning": "#8a6d9e"}
OTHER_COLOUR = "#7b8794"
AGE_BUCKETS = [  # (column, label, colour): CBP pays within 60-90 days of acceptance
    ("age_0_30", "0\u201330 days", "#a9c7e3"),
    ("age_31_60", "31\u201360 days", "#6c9fcf"),
    ("age_61_90", "61\u201390 days", "#2f5f8f"),
    ("age_over_90", "over 90 days", "#1b2f4a"),
    ("age_after_as_of", "dated after as_of", "#8a6d9e"),
    ("no_date", "no age", "#c0c6cc"),
]
UNDERPAID, WITHIN, OVERPAID = "#b23b3b", "#7b8794", "#3d6a99"
VARIANCE_BINS = [  # (bin, label, colour); variance = CBP's interest - expected (CBP's daily compound method)
    ("u4", "underpaid\nover 1,000", UNDERPAID),
    ("u3", "underpaid\n100\u20131,000", UNDERPAID),
    ("u2", "underpaid\n10\u2013100", UNDERPAID),
    ("u1", "underpaid\nup to 10", UNDERPAID),
    ("w", "within\ntolerance", WITHIN),
    ("o1", "overpaid\nup to 10", OVERPAID),
    ("o2", "overpaid\n10\u2013100", OVERPAID),
    ("o3", "overpaid\n100\u20131,000", OVERPAID),
    ("o4", "overpaid\nover 1,000", OVERPAID),
]

KEY_FIGURES = "reporting.rpt_key_figures"
CLAIM_STATUS = "marts.fct_claim_status"
OFFSETS = "marts.fct_offsets"

# The summary's cards, in order: (figure of rpt_key_figures, note). ``{figure}`` in a note shows that figure.
# Every other figure of rpt_key_figures is in the table folded under the cards.
SUMMARY_CARDS = [
    ("files_loaded", "every file the ledger holds, per report in section 5"),
    ("files_refused", "listed in section 5"),
    ("rows_read", "= {rows_loaded} loaded + {rows_quarantined} quarantined"),
    ("refundable_ieepa_principal_usd", "deposited on {entries} entries"),
    ("eligible_entries", "can go on a CAPE declaration today"),
    ("eligible_ieepa_principal_usd", "IEEPA principal of those entries"),
    ("interest_owed_usd", "by CBP's daily compound method, on {entries_with_interest} entries"),
    (
        "unexplained_interest_variance_usd",
        "CBP \u2212 expected on {entries_interest_unexplained} entries no reading explains "
        "(absolute {unexplained_interest_variance_abs_usd})",
    ),
]
FIGURE_IN_NOTE = re.compile(r"\{(\w+)\}")

LIST_LIMIT = 200  # rows of a list (refused files, exports) shown before "and N more"; checks are never cut


class _Warehouse:
    """The read-only connection and the tables the warehouse holds, read once (whether a mart is built yet; its
    columns are the ones its YAML describes)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.tables = {
            f"{schema}.{table}"
            for schema, table in con.execute(
                """
                select schema_name, table_name from duckdb_tables()
                where not internal and database_name = current_database()
                union all
                select schema_name, view_name from duckdb_views()
                where not internal and database_name = current_database()
                """
            ).fetchall()
        }

    def has(self, *tables: str) -> bool:
        return all(t in self.tables for t in tables)

    def rows(self, sql: str, params: Sequence = ()) -> list[tuple]:
        return self.con.execute(sql, list(params)).fetchall()


# ---------------------------------------------------------------------------------------------------- formatting


def money(value) -> str:
    """Thousands separators, 2 decimals; Decimal formatting only (a float is read through its repr, not summed)."""
    if value is None:
        return "\u2014"
    if isinstance(value, float):
        value = Decimal(repr(value))
    return f"{Decimal(value):,.2f}"


def count(value) -> str:
    return "\u2014" if value is None else f"{value:,}"


class _Html(str):
    """Text that is already HTML (built here from escaped parts): table cells pass it through unescaped."""


def _e(value) -> str:
    if isinstance(value, _Html):
        return value
    return escape("" if value is None else str(value))


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _table(headers: Sequence[str], rows: Sequence[Sequence], numeric: Iterable[int] = (), foot=None) -> str:
    """An HTML table; cells are already-formatted text (escaped here); ``numeric`` columns align right."""
    numeric = set(numeric)

    def cls(i):
        return ' class="num"' if i in numeric else ""

    head = "".join(f"<th{cls(i)}>{_e(h)}</th>" for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{_e(c)}</td>" for i, c in enumerate(r)) + "</tr>" for r in rows)
    if not rows:
        body = f'<tr><td colspan="{len(headers)}" class="none">No rows.</td></tr>'
    tfoot = ""
    if foot is not None:
        tfoot = "<tfoot><tr>" + "".join(f"<td{cls(i)}>{_e(c)}</td>" for i, c in enumerate(foot)) + "</tr></tfoot>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>{tfoot}</table>"


def _query(sql: str, label: str = "Query") -> str:
    text = "\n".join(line[12:] if line.startswith(" " * 12) else line for line in sql.strip("\n").splitlines())
    return f"<details><summary>{escape(label)}</summary><pre>{escape(text.strip())}</pre></details>"


def _sources(*tables: str) -> str:
    return '<p class="source">Source: ' + ", ".join(f"<code>{_e(t)}</code>" for t in tables) + "</p>"


def _not_built(*tables: str) -> str:
    return (
        '<p class="not-built">Not built yet: '
        + ", ".join(f"<code>{_e(t)}</code>" for t in tables)
        + (" is not in the warehouse." if len(tables) == 1 else " are not.")
        + "</p>"
    )


def _section(key: str, body: str) -> str:
    return f'<section id="{key}"><h2>{escape(SECTIONS[key])}</h2>{body}</section>'


# ------------------------------------------------------------------------------------------------------ sections


def _figure(unit: str, value) -> str:
    return money(value) if unit == "usd" else count(int(value))


def _summary(wh: _Warehouse, run: dict) -> str:
    """The key figures as ``reporting.rpt_key_figures`` holds them: cards for the first ones, a table of all.
    Each value carries ``data-figure`` (its figure key) so a test can read it back."""
    if not wh.has(KEY_FIGURES):
        cards = "".join(
            f'<div class="figure"><div class="label"><code>{_e(key)}</code></div>'
            f'<div class="value" data-figure="{_e(key)}">not built yet</div></div>'
            for key, _note in SUMMARY_CARDS
        )
        return _section("summary", f'<div class="figures">{cards}</div>' + _not_built(KEY_FIGURES))
    figures_sql = """
            select mart, figure, label, unit, value, as_of_date from reporting.rpt_key_figures
            order by mart, figure
    """
    rows = wh.rows(figures_sql)
    figures = {figure: (label, _figure(unit, value)) for _mart, figure, label, unit, value, _d in rows}

    def shown(key: str) -> str:
        return _e(figures[key][1] if key in figures else "\u2014")

    def note_html(note: str) -> str:  # {figure} in a note: that figure's value, marked as the cards' values are
        return FIGURE_IN_NOTE.sub(lambda m: f'<span data-figure="{_e(m[1])}">{shown(m[1])}</span>', _e(note))

    cards = "".join(
        f'<div class="figure"><div class="label">{_e(figures[key][0] if key in figures else key)}</div>'
        f'<div class="value" data-figure="{_e(key)}">{shown(key)}</div>'
        f'<div class="note">{note_html(note)}</div></div>'
        for key, note in SUMMARY_CARDS
    )
    as_of = ", ".join(sorted({str(d) for *_rest, d in rows}))
    stale = ""
    if rows and as_of != str(run["as_of"]):
        stale = (
            f'<p class="callout">These figures are as of {_e(as_of)}, not this run\'s as_of date '
            f"({_e(run['as_of'])}): this run did not rebuild them.</p>"
        )
    every = _table(
        ["table", "figure", "key", "value"],
        [(mart, label, figure, _figure(unit, value)) for mart, figure, label, unit, value, _d in rows],
        numeric=(3,),
    )
    return _section(
        "summary",
        f'{stale}<div class="figures">{cards}</div>'
        f'<details class="all-figures"><summary>All {count(len(rows))} key figures of the run</summary>{every}'
        "</details>"
        + _sources(KEY_FIGURES)
        + f'<p class="source">Ledger figures cover every file the warehouse holds; entry figures are as of '
        f"{_e(as_of)}. Amounts in U.S. dollars.</p>" + _query(figures_sql),
    )


def _eligibility(wh: _Warehouse) -> str:
    elig, rules = "marts.fct_entry_eligibility", "marts.fct_entry_rule_results"
    if not wh.has(elig):
        return _section("eligibility", _not_built(elig))
    status_sql = """
            select eligibility_status, count(*) as entries, coalesce(sum(ieepa_principal_amount), 0) as principal
            from marts.fct_entry_eligibility
            group by eligibility_status
            order by case eligibility_status when 'eligible' then 1 when 'needs_review' then 2
                when 'ineligible' then 3 when 'already_accepted' then 4 else 5 end, eligibility_status
    """
    statuses = wh.rows(status_sql)
    total = wh.rows("select count(*), coalesce(sum(ieepa_principal_amount), 0) from marts.fct_entry_eligibility")[0]
    parts = [
        _sources(elig, rules),
        "<h3>Entries by eligibility status</h3>",
        hbar_chart(
            [
                Bar(s or "(none)", n, STATUS_COLOURS.get(s, OTHER_COLOUR), f"{n:,} entries \u00b7 {money(p)}")
                for s, n, p in statuses
            ],
            "Entries by eligibility status",
            value_space=230,
        ),
        _table(
            ["eligibility status", "entries", "IEEPA principal"],
            [(s, count(n), money(p)) for s, n, p in statuses],
            numeric=(1, 2),
            foot=("all entries", count(total[0]), money(total[1])),
        ),
        _query(status_sql),
    ]
    if wh.has(rules):
        rule_sql = """
            select r.rule_name, r.result, r.outcome, count(*) as entries,
                coalesce(sum(e.ieepa_principal_amount), 0) as principal
            from marts.fct_entry_rule_results r
            left join marts.fct_entry_eligibility e on e.entry_summary_number = r.entry_summary_number
            where r.result <> 'pass'
            group by r.rule_name, r.result, r.outcome
            order by entries desc, r.rule_name, r.result
        """
        failed = wh.rows(rule_sql)
        parts += [
            "<h3>Entries by reason: CAPE rules not passed</h3>",
            '<p class="note">An entry can fail several rules, so these rows add up to more than the entries. '
            "<em>unknown</em>: an input the rule needs is missing (the entry then needs review).</p>",
            hbar_chart(
                [
                    Bar(
                        name if result == "fail" else f"{name} ({result})",
                        n,
                        OUTCOME_COLOURS.get(outcome, OTHER_COLOUR),
                        f"{n:,} \u00b7 {outcome}",
                    )
                    for name, result, outcome, n, _p in failed
                ],
                "Entries by CAPE rule not passed",
                empty="Every entry passed every rule.",
                value_space=170,
            ),
            _table(
                ["rule", "result", "outcome", "entries", "IEEPA principal of those entries"],
                [(name, result, outcome, count(n), money(p)) for name, result, outcome, n, p in failed],
                numeric=(3, 4),
            ),
            _query(rule_sql),
        ]
    else:
        parts.append(_not_built(rules))
    if wh.has(rules):
        review_sql = """
            with held as (
                select e.entry_summary_number, e.importer_number, e.ieepa_principal_amount, e.reason_codes,
                    string_agg(r.rule_name || coalesce(': ' || r.evidence, ''), '; ' order by r.rule_id) as seen
                from marts.fct_entry_eligibility e
                join marts.fct_entry_rule_results r
                    on r.entry_summary_number = e.entry_summary_number and r.outcome = 'needs_review'
                where e.eligibility_status = 'needs_review'
                group by e.entry_summary_number, e.importer_number, e.ieepa_principal_amount, e.reason_codes
            )
            select *, count(*) over () as entries from held
            order by abs(ieepa_principal_amount) desc, entry_summary_number
            limit ?
        """
        review = wh.rows(review_sql, [LIST_LIMIT])
        parts += [
            "<h3>Entries held back for review</h3>",
            '<p class="note">Nothing of these entries is filed until a person has looked: an anomaly of the entry, '
            "or an input the rule needs that nobody has and whose rule says review. The other entries go on.</p>",
            _table(
                ["entry", "importer", "IEEPA principal", "reasons", "what the rules saw"],
                [(n, i, money(p), r, ev) for n, i, p, r, ev, _c in review],
                numeric=(2,),
            )
            if review
            else '<p class="chart-empty">No entry is held back for review.</p>',
            _more((review[0][5] - len(review)) if review else 0, "entries held back"),
            _query(review_sql),
        ]
    combo_sql = """
            select eligibility_status, coalesce(reason_codes, '') as reason_codes, count(*) as entries,
                coalesce(sum(ieepa_principal_amount), 0) as principal
            from marts.fct_entry_eligibility
            group by all
            order by principal desc, entries desc, eligibility_status, reason_codes
    """
    combos = wh.rows(combo_sql)
    shown = combos[:12]
    parts += [
        "<h3>Entries by status and reason codes</h3>",
        _table(
            ["eligibility status", "reason codes", "entries", "IEEPA principal"],
            [(s, r or "\u2014", count(n), money(p)) for s, r, n, p in shown],
            numeric=(2, 3),
        ),
        _more(len(combos) - len(shown), "combinations"),
        _query(combo_sql),
    ]
    return _section("eligibility", "".join(parts))


def _more(n: int, what: str) -> str:
    return f'<p class="note">\u2026 and {n:,} more {escape(what)} (see the query).</p>' if n > 0 else ""


def _pipeline(wh: _Warehouse, as_of: dt.date) -> str:
    if not wh.has(CLAIM_STATUS):
        return _section("pipeline", _not_built(CLAIM_STATUS))
    # One row per entry: its latest declaration. Age: days since CBP accepted it (NULL: not accepted).
    sql = """
            select coalesce(claim_stage, '(no status)') as status,
                count(*) filter (where days_since_acceptance between 0 and 30) as age_0_30,
                count(*) filter (where days_since_acceptance between 31 and 60) as age_31_60,
                count(*) filter (where days_since_acceptance between 61 and 90) as age_61_90,
                count(*) filter (where days_since_acceptance > 90) as age_over_90,
                count(*) filter (where days_since_acceptance < 0) as age_after_as_of,
                count(*) filter (where days_since_acceptance is null) as no_date,
                count(*) as total,
                sum(expected_principal_amount) as amount
            from marts.fct_claim_status
            where is_latest_for_entry
            group by all
            order by total desc, status
    """
    overdue_sql = "select count(*) from marts.fct_claim_status where is_latest_for_entry and is_overdue"
    rows = wh.rows(sql)
    # Buckets that hold nothing on this run ("dated after as_of", "no age") are left out of chart and table.
    keep = [i for i, b in enumerate(AGE_BUCKETS) if i < 4 or any(r[1 + i] for r in rows)]
    series = [(AGE_BUCKETS[i][1], AGE_BUCKETS[i][2]) for i in keep]
    chart = stacked_hbar_chart(
        [(r[0], [r[1 + i] for i in keep]) for r in rows],
        series,
        f"Refund pipeline by status and age as of {as_of.isoformat()}",
        label_limit=52,
    )
    table = _table(
        ["claim stage", *(AGE_BUCKETS[i][1] for i in keep), "total", "IEEPA principal"],
        [(r[0], *(count(r[1 + i]) for i in keep), count(r[7]), money(r[8])) for r in rows],
        numeric=range(1, 3 + len(keep)),
    )
    (overdue,) = wh.rows(overdue_sql)[0]
    body = (
        _sources(CLAIM_STATUS)
        + f'<p class="callout"><strong data-figure="overdue_entries">{count(overdue)}</strong> entries are overdue: '
        "accepted, not paid, and past CBP's refund window (<code>is_overdue</code> of marts.fct_claim_status, "
        "dbt var refund_window_max_days).</p>"
        + f'<p class="note">One row per entry (its latest declaration); age: <code>days_since_acceptance</code>, '
        f"days before as_of ({as_of.isoformat()}), the darkest segments older than 90 days (no age: not accepted); "
        "amount: <code>expected_principal_amount</code>.</p>"
        + chart
        + table
        + _query(sql)
        + _query(overdue_sql, "Query (overdue entries)")
    )
    return _section("pipeline", body)


def _interest(wh: _Warehouse) -> str:
    table = "marts.fct_entry_interest"
    if not wh.has(table):
        return _section("interest", _not_built(table))
    bins_sql = """
            with v as (
                select interest_variance_amount as v, coalesce(is_within_tolerance, false) as within
                from marts.fct_entry_interest where interest_variance_amount is not null
            )
            select case
                    when within then 'w'
                    when v < -1000 then 'u4' when v < -100 then 'u3' when v < -10 then 'u2' when v < 0 then 'u1'
                    when v <= 10 then 'o1' when v <= 100 then 'o2' when v <= 1000 then 'o3' else 'o4'
                end as bin,
                count(*) as entries, sum(v) as variance
            from v group by bin
    """
    found = {b: (n, s) for b, n, s in wh.rows(bins_sql)}
    stated, entries = wh.rows(f"select count(interest_variance_amount), count(*) from {table}")[0]
    # an importer without a profile gets the rate basis a setting assumes: say so, it moves all its figures
    assumed_sql = f"""
            select count(distinct importer_number), count(*),
                coalesce(string_agg(distinct rate_basis, ', ' order by rate_basis), '')
            from {table} where rate_basis_is_assumed
    """
    importers, assumed_entries, bases = wh.rows(assumed_sql)[0]
    assumed = (
        f'<p class="callout"><strong data-figure="rate_basis_assumed_importers">{count(importers)}</strong> '
        f'importers without a profile (<span data-figure="rate_basis_assumed_entries">{count(assumed_entries)}'
        f"</span> entries): their interest uses an assumed rate basis ({_e(bases)}, dbt var "
        "interest_rate_basis_when_importer_unknown); add them to the importer profiles.</p>"
        if importers
        else '<p class="note">Every importer has a profile: no interest figure rests on an assumed rate basis '
        '(<span data-figure="rate_basis_assumed_importers">0</span> importers).</p>'
    )
    bins = [(b, label, colour, *found.get(b, (0, None))) for b, label, colour in VARIANCE_BINS]
    parts = [
        _sources(table),
        f'<p class="note">Variance = the interest CBP states \u2212 the interest expected by CBP\'s own method '
        f"(daily compound). {count(stated)} of {count(entries)} entries have a figure from CBP; the others are "
        "not stated yet and are not in the chart. Tolerance as in the mart (dbt var interest_tolerance_amount).</p>",
        assumed,
        column_chart(
            [Bar(label, n, colour) for _b, label, colour, n, _s in bins],
            "Entries by interest variance",
            empty="No entry has an interest figure from CBP yet.",
        )
        if stated
        else column_chart([], "", empty="No entry has an interest figure from CBP yet."),
        _table(
            ["variance bucket (CBP \u2212 expected)", "entries", "variance"],
            [(label.replace("\n", " "), count(n), money(s)) for _b, label, _c, n, s in bins],
            numeric=(1, 2),
        ),
        _query(bins_sql),
        _query(assumed_sql, "Query (importers on an assumed rate basis)"),
    ]
    diag_sql = """
            select coalesce(variance_diagnosis, '(none)') as diagnosis, count(*) as entries,
                count(interest_variance_amount) as with_variance,
                sum(interest_variance_amount) as variance, sum(abs(interest_variance_amount)) as absolute_variance
            from marts.fct_entry_interest
            group by all order by entries desc, diagnosis
    """
    diag = wh.rows(diag_sql)
    parts += [
        "<h3>Variance by diagnosis</h3>",
        '<p class="note">Which reading of CBP\'s figure explains it (<code>none_matches</code>: nothing does, '
        "the unexplained variance of the key figures).</p>",
        _table(
            ["diagnosis", "entries", "with a CBP figure", "variance", "absolute variance"],
            [(d, count(n), count(w), money(v), money(a)) for d, n, w, v, a in diag],
            numeric=(1, 2, 3, 4),
        ),
        _query(diag_sql),
    ]
    return _section("interest", "".join(parts))


def _offsets(wh: _Warehouse) -> str:
    if not wh.has(OFFSETS):
        return _section("offsets", _not_built(OFFSETS))
    sql = """
            select coalesce(offset_type, offset_type_code, '(not stated)')
                    || case when is_inferred then ' (inferred)' else '' end as offset_type,
                count(*) as offsets, count(distinct refund_number) as refunds,
                coalesce(sum(offset_amount), 0) as amount,
                string_agg(distinct dispute_with, ', ' order by dispute_with) as dispute_with
            from marts.fct_offsets
            group by all order by amount desc, offset_type
    """
    rows = wh.rows(sql)
    offsets, amount = wh.rows(f"select sum(offsets), coalesce(sum(amount), 0) from ({sql})")[0]
    with_dispute = any(r[4] for r in rows)
    headers = ["offset type", "offsets", "refunds", "amount"] + (["dispute with"] if with_dispute else [])
    body = (
        _sources(OFFSETS)
        + hbar_chart(
            [Bar(t, a, "#3d6a99", f"{money(a)} \u00b7 {n:,}") for t, n, _r, a, _d in rows],
            "Offset amount by type",
            empty="No refund was reduced by an offset.",
        )
        + _table(
            headers,
            [(t, count(n), count(r), money(a), d)[: len(headers)] for t, n, r, a, d in rows],
            numeric=(1, 2, 3),
            foot=("all offsets", count(offsets), "", money(amount), "")[: len(headers)] if rows else None,
        )
        + _query(sql)
    )
    return _section("offsets", body)


def _quarantine(wh: _Warehouse, run: dict) -> str:
    ledger, rejected = "ingest.file_ledger", "quarantine.rejected_rows"
    parts = [_sources(ledger, rejected)]
    if not wh.has(ledger):
        return _section("quarantine", _not_built(ledger))
    report_sql = """
            select coalesce(report_code, '(not recognised)') as report, count(*) filter (where status = 'loaded'),
                count(*) filter (where status = 'refused'), coalesce(sum(rows_read), 0),
                coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0), count(*) filter (where run_id = ?)
            from ingest.file_ledger group by all order by report
    """
    reports = wh.rows(report_sql, [str(run.get("run_id", ""))])
    parts += [
        "<h3>Rows read per report: loaded and quarantined</h3>",
        stacked_hbar_chart(
            [(r, [loaded, kept]) for r, _fl, _fr, _read, loaded, kept, _new in reports],
            [("loaded", "#2f7d4f"), ("quarantined", "#b7791f")],
            "Rows read per report, loaded and quarantined",
            empty="No file in the ledger.",
        ),
        _table(
            ["report", "files loaded", "files refused", "rows read", "rows loaded", "rows quarantined", "by this run"],
            [(r, *(count(v) for v in rest)) for r, *rest in reports],
            numeric=range(1, 7),
        ),
        _query(report_sql),
    ]
    if wh.has(rejected):
        reason_sql = """
            select reason_code, count(*) as rows_quarantined, count(distinct source_file) as files
            from quarantine.rejected_rows group by reason_code order by rows_quarantined desc, reason_code
        """
        reasons = wh.rows(reason_sql)
        parts += [
            "<h3>Rows quarantined by reason</h3>",
            hbar_chart(
                [Bar(code or "(none)", n, "#b7791f", _rows(n)) for code, n, _f in reasons],
                "Rows quarantined by reason",
                empty="No row was quarantined.",
            ),
            _table(
                ["reason code", "rows", "files"],
                [(code, count(n), count(f)) for code, n, f in reasons],
                numeric=(1, 2),
            )
            if reasons
            else "",
            _query(reason_sql),
        ]
    else:
        parts.append(_not_built(rejected))
    refused_sql = """
            select file_name, refusal_code, refusal_reason, loaded_at, count(*) over () as refused
            from ingest.file_ledger where status = 'refused'
            order by load_id limit ?
    """
    refused = wh.rows(refused_sql, [LIST_LIMIT])
    parts += [
        "<h3>Refused files</h3>",
        _table(
            ["file", "refusal code", "reason", "recorded at"],
            [(f, c, r, _timestamp(t)) for f, c, r, t, _n in refused],
        )
        if refused
        else '<p class="chart-empty">No file was refused.</p>',
        _more((refused[0][4] - len(refused)) if refused else 0, "refused files"),
        _query(refused_sql),
    ]
    return _section("quarantine", "".join(parts))


def _layouts(wh: _Warehouse) -> str:
    """Per report, the layouts loaded and the optional columns the exports lacked, with what each costs."""
    ledger = "ingest.file_ledger"
    if not wh.has(ledger):
        return _section("layouts", _not_built(ledger))
    variant_sql = """
            select report_code, coalesce(layout_variant, '(not recorded)') as layout, count(*) as files
            from ingest.file_ledger where status = 'loaded'
            group by all order by report_code, files desc
    """
    missing_sql = """
            select report_code, column_name, count(*) as files,
                (select count(*) from ingest.file_ledger a where a.status = 'loaded'
                    and a.report_code = m.report_code) as report_files
            from (
                select report_code, unnest(columns_missing) as column_name
                from ingest.file_ledger where status = 'loaded'
            ) as m
            group by all order by report_code, column_name
    """
    variants = wh.rows(variant_sql)
    costs = []
    for code, column, files, of in wh.rows(missing_sql):
        report = REPORTS.get(code)
        known = {c.name: c for c in report.columns} if report else {}
        if column in known and known[column].when_missing:
            costs.append((report.title, column, f"{files:,} of {of:,}", known[column].when_missing))
    parts = [
        _sources(ledger),
        "<h3>Layouts read</h3>",
        _table(["report", "layout (pipelines/warehouse/report_layouts.yaml)", "files"], variants, numeric=(2,))
        if variants
        else '<p class="chart-empty">No file loaded.</p>',
        _query(variant_sql),
        "<h3>Optional columns your exports lack, and what each costs</h3>",
        _table(["report", "column", "files without it", "what it costs"], costs)
        if costs
        else '<p class="chart-empty">Every optional column that anything reads was in every export.</p>',
        '<p class="note">Run <code>refunds inspect FILE</code> on an export to see how it was read.</p>',
        _query(missing_sql),
    ]
    return _section("layouts", "".join(parts))


def _quality(wh: _Warehouse, run: dict, out_dir: Path, data_docs_index: Path | None) -> str:
    parts = []
    if data_docs_index is not None:
        href = quote(Path(os.path.relpath(Path(data_docs_index).resolve(), out_dir.resolve())).as_posix())
        missing = "" if Path(data_docs_index).exists() else " (not found when this report was written)"
        parts.append(
            f'<p class="docs">Great Expectations Data Docs of this run: <a href="{escape(href, quote=True)}">'
            f"{escape(href)}</a>{escape(missing)}</p>"
        )
    else:
        parts.append('<p class="note">No Data Docs were given for this run.</p>')

    checks = list(run.get("checks") or [])
    parts.append("<h3>Data-quality checks of this run</h3>")
    if checks:
        passed = sum(1 for c in checks if c.get("passed"))
        warned = sum(1 for c in checks if not c.get("passed") and _is_warning(c))
        parts.append(
            hbar_chart(
                [
                    Bar("passed", passed, "#2f7d4f"),
                    Bar("warned", warned, OUTCOME_COLOURS["needs_review"]),
                    Bar("failed", len(checks) - passed - warned, "#b23b3b"),
                ],
                "Data-quality checks passed, warned and failed",
            )
        )
        # Every check is listed, none cut off: the gate's blocking checks first, then every check that failed or
        # warned, then the ones that passed (folded away, all of them there).
        order = sorted(
            checks,
            key=lambda c: (bool(c.get("passed")), not c.get("blocking"), str(c.get("asset")), str(c.get("name"))),
        )
        gate = [c for c in order if c.get("gate")]
        flagged = [c for c in order if not c.get("gate") and not c.get("passed")]
        others = [c for c in order if not c.get("gate") and c.get("passed")]
        parts.append(
            '<p class="note">The gate: the blocking checks the CAPE export waits for (Great Expectations suites, the '
            "ledger's reconciliation); a failure stops the run before any file is written. dbt data tests of "
            "severity error block the models downstream of theirs; warnings never block.</p>"
        )
        parts.append(_checks_table(gate, "No gate check ran in this run (it stopped before them)."))
        if flagged:
            parts.append(f"<h3>Other checks that failed or warned ({count(len(flagged))})</h3>")
            parts.append(_checks_table(flagged, ""))
        if others:
            parts.append(
                f'<details class="all-checks"><summary>The other {count(len(others))} checks passed (show them)'
                f"</summary>{_checks_table(others, '')}</details>"
            )
    else:
        parts.append('<p class="chart-empty">No check results were given for this run.</p>')

    exports = list(run.get("exports") or [])
    parts.append("<h3>Export files</h3>")
    if exports:
        logged: dict[str, tuple] = {}
        log_sql = ""
        if wh.has("export.exported_entries", "marts.fct_declaration_plan"):
            log_sql = """
            select x.file_name, count(*) as entries, sum(p.ieepa_principal_amount) as principal
            from export.exported_entries x
            left join marts.fct_declaration_plan p on p.entry_summary_number = x.entry_summary_number
            where x.run_id = ?
            group by x.file_name
            """
            logged = {f: (n, p) for f, n, p in wh.rows(log_sql, [str(run.get("run_id", ""))])}
        shown = exports[:LIST_LIMIT]
        rows = []
        for x in shown:
            name = _first_key(x, "file", "file_name")
            principal = _decimal(_first_key(x, "principal", "ieepa_principal_amount"))
            w_rows, w_principal = logged.get(str(name), (None, None))
            agrees = (w_rows, w_principal) == (x.get("rows"), principal)
            rows.append(
                (
                    name,
                    count(x.get("rows")),
                    money(principal) if isinstance(principal, Decimal | None) else principal,
                    count(w_rows) if log_sql else "n/a",
                    money(w_principal) if log_sql else "n/a",
                    ("yes" if agrees else _Html('<strong class="failed">NO</strong>')) if log_sql else "n/a",
                    x.get("sha256") or "",
                )
            )
        parts.append(
            hbar_chart(
                [
                    Bar(
                        str(r[0]), int(x.get("rows") or 0), "#3d6a99", f"{_rows(int(x.get('rows') or 0))} \u00b7 {r[2]}"
                    )
                    for r, x in zip(rows, shown, strict=True)
                ],
                "Entries per export file",
                value_space=200,
            )
        )
        parts.append(
            _table(
                ["file", "rows", "principal", "rows (warehouse)", "principal (warehouse)", "agree", "sha256"],
                rows,
                numeric=(1, 2, 3, 4),
            ).replace("<table>", '<table class="exports">', 1)
        )
        parts.append(_more(len(exports) - len(shown), "export files"))
        if log_sql:
            parts.append(
                '<p class="note">Rows and principal as the run reported them (the manifest), beside the entries '
                "<code>export.exported_entries</code> logs for this run per file and their principal in "
                "<code>marts.fct_declaration_plan</code>.</p>"
            )
            parts.append(_query(log_sql))
    else:
        parts.append('<p class="chart-empty">No export files were written by this run.</p>')
    return _section("quality", "".join(parts))


def _is_warning(check: dict) -> bool:
    return str(check.get("severity") or "").upper() == "WARN"


def _result_cell(check: dict):
    if check.get("passed"):
        return "passed"
    if _is_warning(check):
        return _Html('<strong class="warned">warning</strong>')
    return _Html('<strong class="failed">FAILED</strong>')


def _checks_table(checks: list[dict], empty: str) -> str:
    """One row a check: its name and asset, whether it blocks, its result, failing rows and description."""
    if not checks:
        return f'<p class="chart-empty">{_e(empty)}</p>' if empty else ""
    rows = [
        (
            _Html(f'<span class="check">{_e(c.get("name"))}</span><br><span class="asset">{_e(c.get("asset"))}</span>'),
            "blocking" if c.get("blocking") else "no",
            _result_cell(c),
            count(_first_key(c, "failing_rows", "failing_rows_count", "unexpected_count")),
            c.get("description") or "",
        )
        for c in checks
    ]
    table = _table(["check (asset)", "blocks", "result", "failing rows", "description"], rows, numeric=(3,))
    return table.replace("<table>", '<table class="checks">', 1)


def _banner(run: dict) -> str:
    """For a run that did not succeed: at the top of the page, what stopped it, its message, the rows concerned,
    and whether any CAPE file was exported by it."""
    status = str(run.get("status") or "unknown")
    if _succeeded(status):
        return ""
    failures = run.get("failures") or {}
    stopped = [c for c in run.get("checks") or [] if not c.get("passed") and c.get("blocking")]
    items = []
    for c in stopped:
        detail = ""
        if c.get("failures"):
            detail = _table(
                ["expectation", "column", "failing rows", "the failing rows (first of them)"],
                [(f["expectation"], f["column"], count(f["rows"]), f["examples"]) for f in c["failures"]],
                numeric=(2,),
            )
        elif c.get("failing_rows") is not None:
            detail = f"<p>{_e(_rows(int(c['failing_rows'])))} failed it.</p>"
        kind = "Gate check" if c.get("gate") else "Blocking check"
        items.append(
            f"<li><strong>{kind} <code>{_e(c.get('name'))}</code></strong> on <code>{_e(c.get('asset'))}</code> "
            f"failed{': ' + _e(c['description']) if c.get('description') else '.'}{detail}</li>"
        )
    for f in failures.get("steps") or []:
        items.append(
            f"<li><strong>Step <code>{_e(f.get('step'))}</code> failed:</strong><pre>{_e(f.get('message'))}</pre></li>"
        )
    if not items:
        said = failures.get("run") or (
            "the run ended without finishing (killed or crashed) and recorded no failed step or check"
            if status.upper().startswith("DIED")
            else "no failed step or check was recorded: see the command's output or the run in the Dagster UI"
        )
        items.append(f"<li>{_e(said)}</li>")
    exports = list(run.get("exports") or [])
    if exports:
        exported = (
            f"<strong>This run exported {count(len(exports))} CAPE file(s)</strong> before it stopped (listed in "
            "section 7): check them before you upload."
        )
    else:
        exported = (
            "<strong>No CAPE file was exported by this run.</strong> Files exported by earlier runs are untouched."
        )
    published = run.get("published")
    if published and published == run.get("run_id"):
        copy = " The analysts' copy was published by this run."
    else:
        copy = " The analysts' copy was not replaced" + (f" (it is still run {_e(published)}'s)." if published else ".")
    skipped = failures.get("not_run") or []
    not_run = (
        f'<p class="note">Steps not run: {", ".join(f"<code>{_e(s)}</code>" for s in skipped)}.</p>' if skipped else ""
    )
    return (
        f'<div class="banner" id="run-failed" role="alert"><p class="banner-title">Run {_e(status)}: '
        f"{'what stopped it' if stopped or failures.get('steps') else 'it did not finish'}</p>"
        f'<ul>{"".join(items)}</ul>{not_run}<p class="banner-exports">{exported}{copy}</p>'
        '<p class="note">The figures below are what the warehouse holds now: what this run did not build is as an '
        "earlier run left it.</p></div>"
    )


def _succeeded(status: str) -> bool:
    return status.lower() in ("success", "succeeded", "ok", "passed")


def _decimal(value):
    """A manifest amount (text or number) as Decimal; text that is no number stays as it is."""
    if value is None or isinstance(value, Decimal):
        return value
    try:
        return Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        return str(value)


def _first_key(d: dict, *keys: str):
    return next((d[k] for k in keys if d.get(k) is not None), None)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(wh: _Warehouse) -> str:
    """Every table and view of the warehouse with its exact row count: one query, a count each, union all."""
    names = wh.rows(
        """
        select schema_name, table_name, column_count from duckdb_tables()
        where not internal and database_name = current_database()
        union all
        select schema_name, view_name || ' (view)', column_count from duckdb_views()
        where not internal and database_name = current_database()
        order by 1, 2
        """
    )
    if not names:
        return _section("tables", '<p class="chart-empty">The warehouse holds no table.</p>')
    sql = "\nunion all ".join(
        f"select {i} as n, count(*) as row_count from {_quoted(schema)}.{_quoted(table.removesuffix(' (view)'))}"
        for i, (schema, table, _c) in enumerate(names)
    )
    counts = dict(wh.rows(sql))
    return _section(
        "tables",
        _table(
            ["schema", "table", "rows", "columns"],
            [(schema, table, count(counts[i]), count(c)) for i, (schema, table, c) in enumerate(names)],
            (2, 3),
        ),
    )


# ---------------------------------------------------------------------------------------------------- the page

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: #1f2933;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
/* Fits a laptop screen (1366 px): nothing is wider than the page, long names and texts wrap. */
main { max-width: 1100px; margin: 0 auto; padding: 28px 36px 56px; overflow-wrap: anywhere; }
header { border-bottom: 3px solid #1f3a5f; padding-bottom: 12px; margin-bottom: 8px; }
h1 { font-size: 22px; margin: 0 0 8px; color: #1f3a5f; }
h2 { font-size: 17px; color: #1f3a5f; border-bottom: 1px solid #9aa5b1; padding-bottom: 4px; margin: 34px 0 10px; }
h3 { font-size: 14px; margin: 20px 0 6px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr max-content 1fr; gap: 2px 14px; margin: 0; }
dl.facts dt { color: #52606d; }
dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; min-width: 0; }
nav { font-size: 13px; margin: 10px 0 0; }
nav a { margin-right: 14px; white-space: nowrap; display: inline-block; }
a { color: #1f5a96; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; }
.figure { border: 1px solid #d9dee3; border-left: 4px solid #1f3a5f; background: #f8f9fa; padding: 8px 12px; }
.figure .label { font-size: 12px; color: #52606d; }
.figure .value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; margin: 2px 0; }
.figure .note { font-size: 12px; color: #52606d; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 8px 0 6px; }
th, td { border-bottom: 1px solid #e4e7eb; padding: 4px 8px; text-align: left; vertical-align: top; }
thead th { background: #eef1f4; border-bottom: 1px solid #9aa5b1; font-weight: 600; }
tfoot td { border-top: 1px solid #9aa5b1; font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.none { color: #52606d; font-style: italic; }
table.checks { table-layout: fixed; }
table.checks th:nth-child(1) { width: 34%; }
table.checks th:nth-child(2) { width: 9%; }
table.checks th:nth-child(3) { width: 9%; }
table.checks th:nth-child(4) { width: 10%; }
table.checks .check { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
table.checks .asset { color: #52606d; font-size: 12px; }
table.exports td:last-child { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11px;
  word-break: break-all; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 6px 0 4px; }
.source, .note { font-size: 12px; color: #52606d; margin: 4px 0; }
.chart-empty, .not-built { font-style: italic; color: #52606d; background: #f8f9fa; border: 1px dashed #c0c6cc;
  padding: 8px 12px; }
.callout { border-left: 4px solid #b7791f; background: #fdf6e7; padding: 6px 12px; margin: 6px 0; }
.failed { color: #8a1f1f; }
.warned { color: #8a5a00; }
.banner { border: 2px solid #b23b3b; border-left-width: 8px; background: #fbeaea; padding: 10px 16px;
  margin: 16px 0 8px; }
.banner .banner-title { font-size: 18px; font-weight: 700; color: #8a1f1f; margin: 0 0 6px; }
.banner ul { margin: 4px 0; padding-left: 20px; }
.banner li { margin: 4px 0; }
.banner pre { white-space: pre-wrap; background: #fff; border: 1px solid #e4b4b4; padding: 6px 8px; margin: 4px 0;
  max-height: 16em; overflow: auto; }
.banner table { background: #fff; }
.banner .banner-exports { margin: 8px 0 0; }
.status { font-weight: 600; padding: 1px 8px; border-radius: 3px; }
.status.ok { background: #e3f1e8; color: #1e5c36; }
.status.bad { background: #f8e1e1; color: #8a1f1f; }
details { margin: 2px 0 8px; font-size: 12px; }
details summary { color: #52606d; cursor: pointer; }
details pre { background: #f8f9fa; border: 1px solid #e4e7eb; padding: 8px; white-space: pre-wrap; }
footer { margin-top: 40px; border-top: 1px solid #d9dee3; padding-top: 8px; font-size: 12px; color: #52606d; }
@media print {
  main { max-width: none; padding: 0; }
  section { break-inside: avoid-page; }
  details { display: none; }
  a { color: inherit; }
}
"""


def _timestamp(value) -> str:
    """``2026-11-22 08:40:30 UTC`` for a datetime or an ISO text; other text as given."""
    if value is None or value == "":
        return "\u2014"
    if not isinstance(value, dt.datetime):
        try:
            value = dt.datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    zone = "" if value.tzinfo is None else (" UTC" if value.utcoffset() == dt.timedelta(0) else value.strftime(" %z"))
    return value.strftime("%Y-%m-%d %H:%M:%S") + zone


def _duration(started, finished) -> str:
    try:
        a = started if isinstance(started, dt.datetime) else dt.datetime.fromisoformat(str(started))
        b = finished if isinstance(finished, dt.datetime) else dt.datetime.fromisoformat(str(finished))
        seconds = (b - a).total_seconds()
    except (TypeError, ValueError):
        return "\u2014"
    return f"{seconds:,.1f} s" if seconds >= 0 else "\u2014"


def _header(run: dict, as_of: dt.date, warehouse: Path) -> str:
    status = str(run.get("status") or "unknown")
    ok = _succeeded(status)
    facts = [
        ("As of", f"<strong>{_e(as_of.isoformat())}</strong>"),
        ("Run id", f'<span class="mono">{_e(run.get("run_id"))}</span>'),
        ("Status", f'<span class="status {"ok" if ok else "bad"}">{_e(status)}</span>'),
        ("Duration", _e(_duration(run.get("started_at"), run.get("finished_at")))),
        ("Started", _e(_timestamp(run.get("started_at")))),
        ("Finished", _e(_timestamp(run.get("finished_at")))),
        ("Warehouse (read-only)", f'<span class="mono">{_e(warehouse)}</span>'),
        ("Report written", _e(_timestamp(dt.datetime.now(dt.UTC)))),
    ]
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    nav = "".join(f'<a href="#{k}">{escape(v)}</a>' for k, v in SECTIONS.items())
    return (
        f"<header><h1>IEEPA tariff refunds (CAPE) \u2014 run report, as of {_e(as_of.isoformat())}</h1>"
        f'<dl class="facts">{dl}</dl><nav>{nav}</nav></header>'
    )


def render_run_report(
    con: duckdb.DuckDBPyConnection, warehouse: Path, out_dir: Path, run: dict, data_docs_index: Path | None
) -> str:
    """The page's HTML from an open (read-only) connection."""
    as_of = dt.date.fromisoformat(str(run["as_of"]))
    wh = _Warehouse(con)
    body = "".join(
        [
            _header(run, as_of, warehouse),
            _banner(run),
            _summary(wh, run),
            _eligibility(wh),
            _pipeline(wh, as_of),
            _interest(wh),
            _offsets(wh),
            _quarantine(wh, run),
            _layouts(wh),
            _quality(wh, run, out_dir, data_docs_index),
            _tables(wh),
        ]
    )
    footer = (
        "<footer>Every figure on this page is a query on the warehouse above, run through a read-only "
        "connection (open <em>Query</em> under a table to see it); the run facts and the check and export lists "
        "come from the run itself. Amounts in U.S. dollars.</footer>"
    )
    title = f"Run report {as_of.isoformat()} \u2014 IEEPA refunds (CAPE)"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}{footer}</main></body></html>\n"
    )


def write_atomically(path: Path, text: str) -> Path:
    """Write to a temporary file in the same folder, flush it to disk, then rename it over ``path``.

    The file is made readable by everyone (0644): mkstemp creates it private, and auditors are other users.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def build_run_report(warehouse: Path, out_dir: Path, run: dict, data_docs_index: Path | None = None) -> Path:
    """Write ``out_dir/run_report.html`` for ``run`` from the warehouse (opened read-only); return its path."""
    warehouse, out_dir = Path(warehouse), Path(out_dir)
    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        html = render_run_report(con, warehouse, out_dir, run, data_docs_index)
    finally:
        con.close()
    out_dir.mkdir(parents=True, exist_ok=True)
    return write_atomically(out_dir / REPORT_NAME, html)
