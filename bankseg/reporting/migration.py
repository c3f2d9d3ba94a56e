"""Who moved between segments from one run of the segmentation to another.

Pure functions: the inputs are two runs' assigned customers (id, segment, segment_name) and,
when known, their segments (the content of ``models/segments.json``); the outputs are frames,
dicts, a figure and Markdown. ``python -m bankseg migration`` reads and writes the files.

A segment keeps its identity across runs by the rule the train stage uses for pinned segments
(:func:`bankseg.segmentation.kmeans.reference_order`): the earlier run is the reference, and a
later segment is the same segment when its centre is paired with the earlier one's and lies
within ``segments.match_distance`` standard deviations of it. Without both segments files,
segments with the same name are the same segment.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from bankseg.errors import InputError
from bankseg.reporting.formatting import count, share
from bankseg.reporting.plots import label, text_colour, wrapped
from bankseg.segmentation.kmeans import matched_centres

JOINED = "(joined)"  # where customers found only in the later run come from
LEFT = "(left)"  # where customers found only in the earlier run go
TOP_FLOWS = 5  # moves between segments named in the metrics and the summary
SLUG_CHARS = 60  # longest slug of a segment name in a file name
KINDS = ("stayed", "moved", "joined", "left")


@dataclass(frozen=True)
class Matching:
    """Which segment of the later run is which of the earlier one, and the name each goes by.

    ``earlier`` and ``later`` map each run's segment ids to labels: a later segment matched to
    an earlier one gets the earlier one's label (its name in the earlier run), so the two runs'
    segments compare by label.
    """

    earlier: dict[int, str]
    later: dict[int, str]
    by: str  # "centre" or "name"
    reason: str = ""  # why segments were matched by name
    renamed: tuple[tuple[str, str], ...] = ()  # (earlier name, later name) of matched segments
    max_distance: float | None = None

    @property
    def unmatched_earlier(self) -> list[str]:
        """Labels of earlier segments with no counterpart in the later run."""
        later = set(self.later.values())
        return _distinct(v for v in self.earlier.values() if v not in later)

    @property
    def unmatched_later(self) -> list[str]:
        """Labels of later segments with no counterpart in the earlier run."""
        earlier = set(self.earlier.values())
        return _distinct(v for v in self.later.values() if v not in earlier)


@dataclass(frozen=True)
class Flow:
    """Customers who went from one segment (or JOINED) to another (or LEFT)."""

    from_segment: str
    to_segment: str
    customers: int
    share: float  # of the customers of ``from_segment``
    kind: str  # moved, joined or left


@dataclass
class Migration:
    moves: pd.DataFrame  # id, from_segment, to_segment of every customer of either run
    counts: pd.DataFrame  # customers by from (rows) and to (columns) segment
    shares: pd.DataFrame  # the counts' row shares
    table: pd.DataFrame  # the matrix in long form: from, to, customers, share, kind
    flows: list[Flow]  # moves, joins and departures of at least min_customers customers
    metrics: dict


def _distinct(values) -> list[str]:
    return list(dict.fromkeys(values))


# ---------------------------------------------------------------------------------------------
# Inputs


def assigned_segments(frame: pd.DataFrame, *, id_column: str, source: str) -> pd.DataFrame:
    """The ``id`` (as text), ``segment`` and ``segment_name`` of every customer of an
    assigned-customers file; a one-line error naming ``source`` and the column when a column is
    missing, an id is empty or repeated, or a segment is not a whole number."""
    for column in (id_column, "segment", "segment_name"):
        if column not in frame.columns:
            raise InputError(
                f"{source}: no column {column!r}; expected the assigned customers' columns "
                f"{id_column} (data.id_column), segment and segment_name"
            )
    ids = frame[id_column]
    empty = ids.isna() | (ids.astype(str).str.strip() == "")
    if empty.any():
        raise InputError(
            f"{source}: column {id_column!r} is empty in data row {_first(empty)}; expected an id for every customer"
        )
    ids = ids.astype(str)
    repeated = ids.duplicated()
    if repeated.any():
        raise InputError(
            f"{source}: column {id_column!r} repeats id {ids[repeated].iloc[0]!r} (data row "
            f"{_first(repeated)}; {int(repeated.sum()):,} repeats); expected one row per customer"
        )
    segment = pd.to_numeric(frame["segment"], errors="coerce")
    bad = segment.isna() | (segment != segment.round()) | (segment < 0)
    if bad.any():
        raise InputError(
            f"{source}: column 'segment' holds {frame['segment'][bad].iloc[0]!r} in data row "
            f"{_first(bad)}; expected a segment number"
        )
    names = frame["segment_name"]
    if names.isna().any():
        raise InputError(
            f"{source}: column 'segment_name' is empty in data row {_first(names.isna())}; "
            "expected every customer's segment name"
        )
    return pd.DataFrame(
        {
            "id": ids.to_numpy(dtype=object),
            "segment": segment.astype("int64").to_numpy(),
            "segment_name": names.astype(str).to_numpy(dtype=object),
        }
    )


def _first(mask: pd.Series) -> int:
    """The 1-based data row of the first True of ``mask``."""
    return int(np.flatnonzero(mask.to_numpy())[0]) + 1


def names_in(assigned: pd.DataFrame, source: str) -> dict[int, str]:
    """Each segment's name as an assigned-customers file gives it (one name per segment)."""
    pairs = assigned[["segment", "segment_name"]].drop_duplicates()
    twice = pairs["segment"].duplicated(keep=False)
    if twice.any():
        segment = int(pairs["segment"][twice].iloc[0])
        shown = ", ".join(repr(n) for n in sorted(pairs["segment_name"][pairs["segment"] == segment]))
        raise InputError(
            f"{source}: segment {segment} has several names in column 'segment_name' ({shown}); "
            "expected one name per segment"
        )
    return dict(sorted(zip(pairs["segment"].tolist(), pairs["segment_name"].tolist(), strict=True)))


def segment_names(record: dict) -> dict[int, str]:
    """Segment id -> name of a segments file's content."""
    return {
        int(s): str(entry["name"]) for s, entry in sorted(record["segments"].items(), key=lambda i: int(i[0]))
    }


def check_segments(
    assigned: pd.DataFrame, names: dict[int, str], *, source: str, segments_source: str
) -> None:
    """Refuse customers in a segment the segments file does not have (files of other runs)."""
    unknown = sorted(set(assigned["segment"].tolist()) - set(names))
    if unknown:
        raise InputError(
            f"{source}: segment {unknown[0]} is not in {segments_source} (segments "
            f"{', '.join(str(s) for s in sorted(names)) or 'none'}); expected the segments file of the same run"
        )


# ---------------------------------------------------------------------------------------------
# Which segment is which


def centre_pairs(earlier: dict, later: dict, *, max_distance: float) -> dict[int, int]:
    """Later segment id -> earlier segment id, for the segments that are the same segment.

    The rule of :func:`bankseg.segmentation.kmeans.reference_order`, with the earlier run as the
    reference: segments are paired one to one, closest first (the Hungarian method on the
    distances of :func:`~bankseg.segmentation.kmeans.centre_distances`, in the earlier run's
    standard deviations); a pair counts only when its centres are at most ``max_distance`` apart.
    """
    later_ids = sorted(int(s) for s in later["segments"])
    if not later_ids:
        return {}
    by_id = {int(s): entry for s, entry in later["segments"].items()}
    centres = pd.DataFrame([by_id[s]["centre"] for s in later_ids], dtype="float64")
    matched = matched_centres(centres, earlier, max_distance=max_distance)
    return {later_ids[row]: earlier_id for row, earlier_id in matched.items()}


def _unique(name: str, taken: set[str], *, tag: str) -> str:
    """``name``, or ``name (<tag>)``, ``name (<tag> 2)``... when another segment already has it."""
    candidate, n = name, 1
    while candidate in taken or candidate in (JOINED, LEFT):
        candidate = f"{name} ({tag})" if n == 1 else f"{name} ({tag} {n})"
        n += 1
    return candidate


def match_by_centre(earlier: dict, later: dict, *, max_distance: float) -> Matching:
    """Segments matched by centre (:func:`centre_pairs`); a later segment of its own whose name an
    earlier segment has is called ``<name> (new)``."""
    pairs = centre_pairs(earlier, later, max_distance=max_distance)
    earlier_names, later_names = segment_names(earlier), segment_names(later)
    earlier_labels: dict[int, str] = {}
    for s, name in earlier_names.items():
        earlier_labels[s] = _unique(name, set(earlier_labels.values()), tag=f"segment {s}")
    later_labels: dict[int, str] = {s: earlier_labels[e] for s, e in pairs.items()}
    taken = set(earlier_labels.values())
    for s, name in later_names.items():
        if s not in pairs:
            later_labels[s] = _unique(name, taken, tag="new")
            taken.add(later_labels[s])
    renamed = tuple(
        (earlier_names[pairs[s]], later_names[s])
        for s in sorted(pairs)
        if earlier_names[pairs[s]] != later_names[s]
    )
    return Matching(
        earlier_labels,
        dict(sorted(later_labels.items())),
        "centre",
        renamed=renamed,
        max_distance=max_distance,
    )


def match_by_name(earlier: dict[int, str], later: dict[int, str], *, reason: str) -> Matching:
    """Segments with the same name are the same segment (``reason``: why centres were not used)."""
    return Matching(dict(earlier), dict(later), "name", reason=reason)


def comparable(earlier: dict, later: dict) -> bool:
    """Whether the two runs' centres are in the same units: the same feature settings."""
    return earlier.get("features") == later.get("features")


# ---------------------------------------------------------------------------------------------
# Who moved


def customer_moves(earlier: pd.DataFrame, later: pd.DataFrame, matching: Matching) -> pd.DataFrame:
    """Every customer of either run: ``id``, ``from_segment`` (:data:`JOINED` for customers only
    in the later run) and ``to_segment`` (:data:`LEFT` for those only in the earlier run), by
    label; the earlier run's customers in its order, then those who joined in the later run's."""
    before = pd.Series(earlier["segment"].map(matching.earlier).to_numpy(), index=earlier["id"], dtype=object)
    after = pd.Series(later["segment"].map(matching.later).to_numpy(), index=later["id"], dtype=object)
    ids = pd.Index(earlier["id"]).append(pd.Index(later["id"][~later["id"].isin(earlier["id"])]))
    moves = pd.DataFrame(
        {
            "id": ids.to_numpy(dtype=object),
            "from_segment": before.reindex(ids).fillna(JOINED).to_numpy(dtype=object),
            "to_segment": after.reindex(ids).fillna(LEFT).to_numpy(dtype=object),
        }
    )
    return moves


def _rows_and_columns(matching: Matching) -> tuple[list[str], list[str]]:
    """The matrix's rows (earlier segments, then JOINED) and columns (later segments, those
    matched to an earlier one first in its order so the diagonal is who stayed, then LEFT)."""
    rows = _distinct(matching.earlier.values())
    later = _distinct(matching.later.values())
    columns = [r for r in rows if r in later] + [c for c in later if c not in rows]
    return [*rows, JOINED], [*columns, LEFT]


def transition_counts(moves: pd.DataFrame, matching: Matching) -> pd.DataFrame:
    """Customers by segment in the earlier run (rows) and in the later run (columns)."""
    rows, columns = _rows_and_columns(matching)
    counts = pd.DataFrame(0, index=pd.Index(rows, name="from_segment"), columns=columns, dtype="int64")
    counts.columns.name = "to_segment"
    for (source, target), n in moves.value_counts(["from_segment", "to_segment"], sort=False).items():
        counts.loc[source, target] = int(n)
    return counts


def row_shares(counts: pd.DataFrame) -> pd.DataFrame:
    """Each row's counts as shares of the row (0 in a row without customers)."""
    totals = counts.sum(axis=1)
    return counts.div(totals.where(totals > 0, 1), axis=0).astype("float64")


def kind_of(source: str, target: str) -> str:
    if source == JOINED:
        return "joined"
    if target == LEFT:
        return "left"
    return "stayed" if source == target else "moved"


def transition_table(counts: pd.DataFrame) -> pd.DataFrame:
    """The matrix in long form, every pair of segments: ``from_segment``, ``to_segment``,
    ``customers``, ``share`` (of the customers of ``from_segment``) and ``kind`` (stayed, moved,
    joined, left); nobody can both join and leave, so that pair is left out."""
    shares = row_shares(counts)
    records = [
        (
            source,
            target,
            int(counts.loc[source, target]),
            float(shares.loc[source, target]),
            kind_of(source, target),
        )
        for source in counts.index
        for target in counts.columns
        if not (source == JOINED and target == LEFT)
    ]
    return pd.DataFrame(records, columns=["from_segment", "to_segment", "customers", "share", "kind"])


def large_flows(table: pd.DataFrame, *, min_customers: int) -> list[Flow]:
    """Moves, joins and departures of at least ``min_customers`` customers, largest first."""
    rows = table[(table["kind"] != "stayed") & (table["customers"] >= min_customers)]
    rows = rows.sort_values(["customers", "from_segment", "to_segment"], ascending=[False, True, True])
    return [
        Flow(r.from_segment, r.to_segment, int(r.customers), float(r.share), r.kind)
        for r in rows.itertuples(index=False)
    ]


def slug(text: str) -> str:
    """A file-name part for a segment name: ``Young savers`` -> ``young-savers``."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(words) > SLUG_CHARS:
        cut = words[:SLUG_CHARS]
        words = cut[: cut.rfind("-")] if "-" in cut else cut
    return words or "segment"


def flow_file_names(flows: list[Flow], *, prefix: str) -> dict[tuple[str, str], str]:
    """(from, to) -> ``<prefix><from>_to_<to>.csv`` of each flow; slugs that two flows share get
    ``-2``, ``-3`` in the order of ``flows``."""
    names: dict[tuple[str, str], str] = {}
    taken: set[str] = set()
    for flow in flows:
        stem = f"{prefix}{slug(flow.from_segment)}_to_{slug(flow.to_segment)}"
        name, n = f"{stem}.csv", 1
        while name in taken:
            n += 1
            name = f"{stem}-{n}.csv"
        taken.add(name)
        names[(flow.from_segment, flow.to_segment)] = name
    return names


def flow_customers(moves: pd.DataFrame, flow: Flow, *, id_column: str) -> pd.DataFrame:
    """The customers of one flow: their id (in a column named ``id_column``) and the two segment
    names, nothing else."""
    rows = moves[(moves["from_segment"] == flow.from_segment) & (moves["to_segment"] == flow.to_segment)]
    return pd.DataFrame(
        {
            id_column: rows["id"].to_numpy(dtype=object),
            "from_segment": rows["from_segment"].to_numpy(dtype=object),
            "to_segment": rows["to_segment"].to_numpy(dtype=object),
        }
    )


def customers(n: int, noun: str = "customer") -> str:
    """``1 customer``, ``1,234 customers``."""
    return f"{count(n)} {noun}{'' if n == 1 else 's'}"


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def migration_metrics(moves: pd.DataFrame, table: pd.DataFrame, matching: Matching) -> dict:
    """Small, diffable numbers: customers who stayed, moved, joined and left, the share that
    stayed (of the customers in both runs), the largest moves, unmatched segments."""
    totals = table.groupby("kind")["customers"].sum().reindex(list(KINDS), fill_value=0)
    stayed, moved, joined, left = (int(totals[k]) for k in KINDS)
    in_both = stayed + moved
    biggest = table[table["kind"] == "moved"].sort_values(
        ["customers", "from_segment", "to_segment"], ascending=[False, True, True]
    )
    biggest = biggest[biggest["customers"] > 0].head(TOP_FLOWS)
    from_sizes = table.groupby("from_segment", sort=False)["customers"].sum()
    to_sizes = table.groupby("to_segment", sort=False)["customers"].sum()
    stayed_rows = table[table["kind"] == "stayed"].set_index("from_segment")["customers"]
    return {
        "customers": {
            "earlier": int(len(moves) - joined),
            "later": int(len(moves) - left),
            "in_both": in_both,
        },
        "stayed": stayed,
        "moved": moved,
        "joined": joined,
        "left": left,
        "share_stayed": _ratio(stayed, in_both),
        "share_moved": _ratio(moved, in_both),
        "matched_by": matching.by,
        "largest_moves": {
            str(rank): {
                "from": r.from_segment,
                "to": r.to_segment,
                "customers": int(r.customers),
                "share_of_from": float(r.share),
            }
            for rank, r in enumerate(biggest.itertuples(index=False), start=1)
        },
        "stayed_by_segment": {
            name: _ratio(int(stayed_rows.get(name, 0)), int(from_sizes[name] - _left_of(table, name)))
            for name in _distinct(matching.earlier.values())
        },
        "unmatched_segments": {
            "earlier": len(matching.unmatched_earlier),
            "later": len(matching.unmatched_later),
        },
        # The customers of each segment without a counterpart in the other run, by name.
        "unmatched": {
            "earlier": {name: int(from_sizes.get(name, 0)) for name in matching.unmatched_earlier},
            "later": {name: int(to_sizes.get(name, 0)) for name in matching.unmatched_later},
        },
    }


def _left_of(table: pd.DataFrame, name: str) -> int:
    rows = table[(table["from_segment"] == name) & (table["to_segment"] == LEFT)]
    return int(rows["customers"].sum())


def compare_runs(
    earlier: pd.DataFrame, later: pd.DataFrame, matching: Matching, *, min_customers: int
) -> Migration:
    """Everything the migration report shows, from two runs' :func:`assigned_segments`."""
    moves = customer_moves(earlier, later, matching)
    counts = transition_counts(moves, matching)
    table = transition_table(counts)
    return Migration(
        moves=moves,
        counts=counts,
        shares=row_shares(counts),
        table=table,
        flows=large_flows(table, min_customers=min_customers),
        metrics=migration_metrics(moves, table, matching),
    )


def unmatched_warnings(matching: Matching, metrics: dict, *, earlier: str, later: str) -> list[str]:
    """One sentence per segment without a counterpart in the other run."""
    unmatched = metrics["unmatched"]
    how = "by centre" if matching.by == "centre" else "by name"
    return [
        f"segment {name!r} of {earlier} ({customers(n)}) has no counterpart in {later} ({how})"
        for name, n in unmatched["earlier"].items()
    ] + [
        f"segment {name!r} of {later} ({customers(n)}) has no counterpart in {earlier} ({how})"
        for name, n in unmatched["later"].items()
    ]


# ---------------------------------------------------------------------------------------------
# For people


def heatmap_figure(counts: pd.DataFrame, *, earlier: str, later: str) -> Figure:
    """The transition matrix as a heatmap of row shares: each row is a segment of the earlier run
    (and the customers who joined), each column one of the later run (and those who left); each
    cell shows the share of its row and the number of customers."""
    shares = row_shares(counts).to_numpy()
    values = shares.copy()
    values[counts.index.get_loc(JOINED), counts.columns.get_loc(LEFT)] = np.nan
    rows = [wrapped(r) for r in counts.index]
    columns = [wrapped(c, width=22) for c in counts.columns]
    lines = max(n.count("\n") + 1 for n in rows)
    fig = Figure(
        figsize=(max(7.0, 3.5 + 1.25 * len(columns)), max(4.0, 2.6 + (0.16 * lines + 0.35) * len(rows))),
        layout="constrained",
    )
    ax = fig.subplots()
    cmap = colormaps["Blues"].with_extremes(bad="0.9")
    norm = Normalize(vmin=0.0, vmax=1.0)
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=norm, aspect="auto")
    for (i, j), value in np.ndenumerate(values):
        if np.isnan(value):
            continue
        n = int(counts.iat[i, j])
        ax.text(
            j,
            i,
            f"{share(value)}\n{count(n)}" if n else "0",
            ha="center",
            va="center",
            fontsize=8,
            color=text_colour(cmap(norm(value))),
        )
    ax.set_xticks(range(len(columns)), columns, rotation=35, ha="right", rotation_mode="anchor", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.tick_params(axis="both", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_ylabel(f"segment in {label(earlier, 40)}")
    ax.set_xlabel(f"segment in {label(later, 40)}")
    colourbar = fig.colorbar(image, ax=ax, shrink=0.8)
    colourbar.set_label("share of the row's customers")
    colourbar.outline.set_visible(False)
    fig.suptitle("Where each segment's customers went", fontsize="large")
    return fig


def _md(text: str) -> str:
    """Text from the data shown in Markdown as written (no emphasis, links or table cells)."""
    return re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", " ".join(str(text).split()))


def _flow_sentence(flow_from: str, flow_to: str, n: int, part: float) -> str:
    if flow_from == JOINED:
        return f"{customers(n, 'new customer')} joined **{_md(flow_to)}**"
    if flow_to == LEFT:
        return f"{customers(n)} of **{_md(flow_from)}** left ({share(part)} of the segment)"
    return (
        f"{customers(n)} moved from **{_md(flow_from)}** to **{_md(flow_to)}** "
        f"({share(part)} of {_md(flow_from)})"
    )


def summary_markdown(
    migration: Migration,
    matching: Matching,
    *,
    earlier: str,
    later: str,
    files: dict[tuple[str, str], str],
    min_customers: int,
) -> str:
    """What a reader in marketing needs: the share that stayed, the biggest moves in words,
    who joined and left, segments without a counterpart, and which files list the customers."""
    m = migration.metrics
    e, l_ = _md(earlier), _md(later)
    lines = [f"### Segment migration from {e} to {l_}", ""]
    in_both = m["customers"]["in_both"]
    if in_both:
        lines.append(
            f"- **{share(m['share_stayed'])} stayed** in their segment: {count(m['stayed'])} of the "
            f"{count(in_both)} customers in both runs; {count(m['moved'])} moved to another segment."
        )
    else:
        lines.append("- No customer is in both runs.")
    lines.append(
        f"- **{count(m['joined'])} joined** (only in {l_}) and **{count(m['left'])} left** (only in {e})."
    )
    lines += ["", "#### Biggest moves", ""]
    moves = list(m["largest_moves"].values())
    if moves:
        lines += [
            f"{rank}. {_flow_sentence(f['from'], f['to'], f['customers'], f['share_of_from'])}."
            for rank, f in enumerate(moves, start=1)
        ]
    else:
        lines.append("No customer moved to another segment.")
    lines += ["", "#### Segments", ""]
    if matching.by == "centre":
        lines.append(
            "Segments are matched by their centres, the rule that keeps pinned segments' ids: a "
            f"segment of {l_} is one of {e} when its centre is within "
            f"{matching.max_distance:g} standard deviations of it (segments.match_distance)."
        )
    else:
        lines.append(f"Segments are matched by name: {_md(matching.reason)}.")
    lines.append("")
    unmatched = m["unmatched"]
    for name, n in unmatched["earlier"].items():
        lines.append(f"- **{_md(name)}** ({customers(n)} in {e}) has no counterpart in {l_}.")
    for name, n in unmatched["later"].items():
        lines.append(f"- **{_md(name)}** ({customers(n)} in {l_}) is new: no counterpart in {e}.")
    for old, new in matching.renamed:
        lines.append(f"- **{_md(old)}** is called **{_md(new)}** in {l_}.")
    if not unmatched["earlier"] and not unmatched["later"]:
        lines.append(f"- Every segment has its counterpart in the other run; the names are those of {e}.")
    lines += [
        "",
        f"| segment in {e} | customers | stayed | moved | left |",
        "|---|---:|---:|---:|---:|",
    ]
    counts = migration.counts
    for name in counts.index:
        if name == JOINED:
            continue
        row = counts.loc[name]
        total = int(row.sum())
        left = int(row[LEFT])
        kept = int(row[name]) if name in counts.columns else 0
        moved = total - left - kept
        lines.append(
            f"| {_md(name)} | {count(total)} | {share(_ratio(kept, total - left))} | {count(moved)} | {count(left)} |"
        )
    lines += ["", f"#### Customer lists (flows of at least {customers(min_customers)})", ""]
    if migration.flows:
        lines += [
            f"- `{files[(f.from_segment, f.to_segment)]}`: "
            f"{_flow_sentence(f.from_segment, f.to_segment, f.customers, f.share)}"
            for f in migration.flows
        ]
    else:
        lines.append("No flow is that large.")
    return "\n".join(lines) + "\n"
