"""The lineage graph department → data set → agreement → recipient → feature view, laid out in
columns and drawn as SVG by the portal itself (no Graphviz). Pure: facts in, layout and SVG out.

Layout: one column per kind; nodes of a column are ordered by the mean position of their
predecessors (one barycentre pass, enough for a tree-like graph to have few crossings), stacked
with a fixed gap, so no two nodes can overlap; columns are centred on the tallest one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from portal.facts import Facts

KINDS = ("department", "dataset", "agreement", "recipient", "feature")
COLUMN_TITLES = {
    "department": "Fachamt",
    "dataset": "Datensatz",
    "agreement": "Vereinbarung",
    "recipient": "Empfänger",
    "feature": "KI-Merkmal (anonym)",
}
NODE_W, NODE_H, GAP_Y, GAP_X, TOP = 190, 34, 10, 48, 40
CHARS = 23  # what fits in a node at 13 px


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    label: str
    href: str
    x: float = 0
    y: float = 0
    w: float = NODE_W
    h: float = NODE_H

    def overlaps(self, other: Node) -> bool:
        return not (
            self.x + self.w <= other.x
            or other.x + other.w <= self.x
            or self.y + self.h <= other.y
            or other.y + other.h <= self.y
        )


@dataclass(frozen=True)
class Layout:
    nodes: tuple[Node, ...]
    edges: tuple[tuple[str, str], ...]
    width: float
    height: float

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)


def graph(facts: Facts) -> tuple[list[Node], list[tuple[str, str]]]:
    """Nodes (unplaced) and edges of the catalog's data flows."""
    nodes: list[Node] = []
    edges: list[tuple[str, str]] = []
    departments = sorted({d.department for d in facts.datasets.values()})
    for name in departments:
        nodes.append(
            Node(
                f"department:{name}",
                "department",
                facts.department_name(name),
                f"/datensaetze#amt-{name}",
            )
        )
    for topic, dataset in sorted(facts.datasets.items()):
        nodes.append(
            Node(f"dataset:{topic}", "dataset", dataset.title, f"/datensaetze/{quote(topic)}")
        )
        edges.append((f"department:{dataset.department}", f"dataset:{topic}"))
    for agreement_id, a in facts.agreements.items():
        nodes.append(
            Node(
                f"agreement:{agreement_id}",
                "agreement",
                agreement_id,
                f"/vereinbarungen/{quote(agreement_id)}",
            )
        )
        if f"dataset:{a.agreement.source}" in {n.id for n in nodes}:
            edges.append((f"dataset:{a.agreement.source}", f"agreement:{agreement_id}"))
        edges.append((f"agreement:{agreement_id}", f"recipient:{a.agreement.subscriber}"))
    for name, recipient in facts.recipients.items():
        nodes.append(
            Node(
                f"recipient:{name}",
                "recipient",
                recipient.description,
                f"/vereinbarungen#empfaenger-{name}",
            )
        )
    for name, view in sorted(facts.features.items()):
        nodes.append(Node(f"feature:{name}", "feature", name, f"/datenfluesse#merkmal-{name}"))
        agreement = facts.agreements.get(view.agreement or "")
        if agreement is not None:
            edges.append((f"recipient:{agreement.agreement.subscriber}", f"feature:{name}"))
    known = {n.id for n in nodes}
    return nodes, [(a, b) for a, b in edges if a in known and b in known]


def layout(nodes: list[Node], edges: list[tuple[str, str]]) -> Layout:
    """Place the nodes column by column (see the module's doc)."""
    columns = {kind: [n for n in nodes if n.kind == kind] for kind in KINDS}
    preds: dict[str, list[str]] = {}
    for a, b in edges:
        preds.setdefault(b, []).append(a)
    rank: dict[str, float] = {}
    for kind in KINDS:
        column = columns[kind]

        def centre(n: Node) -> tuple[float, str]:
            before = [rank[p] for p in preds.get(n.id, []) if p in rank]
            return (sum(before) / len(before) if before else float("inf"), n.label)

        if kind != "department":
            column.sort(key=centre)
        for i, n in enumerate(column):
            rank[n.id] = i
    tallest = max((len(c) for c in columns.values()), default=0)
    height = TOP + tallest * (NODE_H + GAP_Y) + GAP_Y
    placed: list[Node] = []
    for col, kind in enumerate(KINDS):
        column = columns[kind]
        offset = (tallest - len(column)) * (NODE_H + GAP_Y) / 2
        for i, n in enumerate(column):
            placed.append(
                Node(
                    n.id,
                    n.kind,
                    n.label,
                    n.href,
                    x=col * (NODE_W + GAP_X) + 1,
                    y=TOP + offset + i * (NODE_H + GAP_Y),
                )
            )
    width = len(KINDS) * (NODE_W + GAP_X) - GAP_X + 2
    return Layout(tuple(placed), tuple(edges), width, height)


def lineage(facts: Facts) -> Layout:
    return layout(*graph(facts))


# Characters XML 1.0 cannot carry (control characters, surrogates): a doc may hold any text.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("", value))


def _short(label: str) -> str:
    return label if len(label) <= CHARS else label[: CHARS - 1].rstrip() + "…"


def render_svg(graph_layout: Layout, *, title: str = "Datenflüsse der Datendrehscheibe") -> str:
    """The layout as an inline SVG: each node a link (keyboard-focusable), its full name in a
    ``<title>``; the page carries the same graph as a list for screen readers."""
    by_id = {n.id: n for n in graph_layout.nodes}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" width="{graph_layout.width:.0f}" '
        f'height="{graph_layout.height:.0f}" viewBox="0 0 {graph_layout.width:.0f} {graph_layout.height:.0f}" '
        f'aria-labelledby="lineage-title"><title id="lineage-title">{escape(title)}</title>'
    ]
    for col, kind in enumerate(KINDS):
        out.append(
            f'<text class="col" x="{col * (NODE_W + GAP_X) + 1}" y="20" aria-hidden="true">'
            f"{escape(COLUMN_TITLES[kind])}</text>"
        )
    for a, b in graph_layout.edges:
        s, t = by_id[a], by_id[b]
        x1, y1, x2, y2 = s.x + s.w, s.y + s.h / 2, t.x, t.y + t.h / 2
        mid = (x1 + x2) / 2
        out.append(
            f'<path class="edge" d="M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} '
            f'{x2:.1f},{y2:.1f}" aria-hidden="true"/>'
        )
    for n in graph_layout.nodes:
        name = _text(f"{COLUMN_TITLES[n.kind]}: {n.label}")
        out.append(
            f'<a href="{_text(n.href)}" class="node {n.kind}" aria-label="{name}">'
            f"<title>{name}</title>"
            f'<rect x="{n.x:.1f}" y="{n.y:.1f}" width="{n.w:.0f}" height="{n.h:.0f}" rx="6"/>'
            f'<text x="{n.x + 10:.1f}" y="{n.y + n.h / 2 + 5:.1f}">{_text(_short(n.label))}</text></a>'
        )
    out.append("</svg>")
    return "".join(out)
