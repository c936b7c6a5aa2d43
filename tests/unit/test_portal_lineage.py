"""The lineage graph's layout: no two nodes overlap, every node is a link, every edge joins two
nodes, and the SVG is well-formed with each node inside its link."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.facts import load_facts
from portal.lineage import KINDS, Node, layout, lineage, render_svg

REPO = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def graph():
    return lineage(load_facts(REPO / "catalog", REPO / "schemas"))


def test_no_nodes_overlap(graph):
    nodes = graph.nodes
    for i, a in enumerate(nodes):
        for b in nodes[i + 1 :]:
            assert not a.overlaps(b), (a.id, b.id)
        assert a.x >= 0 and a.x + a.w <= graph.width and a.y >= 0 and a.y + a.h <= graph.height


def test_every_node_is_a_link_and_every_edge_joins_nodes(graph):
    ids = {n.id for n in graph.nodes}
    assert all(n.href.startswith("/") for n in graph.nodes)
    assert all(a in ids and b in ids for a, b in graph.edges)
    kinds = {n.kind for n in graph.nodes}
    assert kinds == set(KINDS)


def test_the_flow_of_a_move_to_the_statistics_office(graph):
    edges = set(graph.edges)
    assert ("department:buergeramt", "dataset:buergeramt.resident.moved") in edges
    assert (
        "dataset:buergeramt.resident.moved",
        "agreement:statistikstelle-resident-moved",
    ) in edges
    assert ("agreement:statistikstelle-resident-moved", "recipient:statistikstelle") in edges
    assert ("recipient:ki-featurestore", "feature:moves_in_daily") in edges


def test_columns_go_left_to_right(graph):
    x = {kind: {n.x for n in graph.nodes if n.kind == kind} for kind in KINDS}
    assert all(len(xs) == 1 for xs in x.values())
    order = [next(iter(x[k])) for k in KINDS]
    assert order == sorted(order)


def test_the_svg_is_well_formed_and_each_node_is_inside_its_link(graph):
    root = ET.fromstring(render_svg(graph))
    links = root.findall(f"{SVG}a")
    assert len(links) == len(graph.nodes)
    assert {a.get("href") for a in links} == {n.href for n in graph.nodes}
    for a in links:
        assert a.find(f"{SVG}rect") is not None and a.find(f"{SVG}title") is not None
        assert a.get("aria-label")
    assert root.find(f"{SVG}title").text


@given(
    st.lists(st.tuples(st.sampled_from(KINDS), st.text(min_size=1, max_size=40)), max_size=40),
    st.lists(st.tuples(st.integers(0, 39), st.integers(0, 39)), max_size=60),
)
def test_no_overlap_for_any_graph(specs, pairs):
    nodes = [Node(f"{kind}:{i}", kind, label, f"/x/{i}") for i, (kind, label) in enumerate(specs)]
    edges = [(nodes[a].id, nodes[b].id) for a, b in pairs if a < len(nodes) and b < len(nodes)]
    placed = layout(nodes, edges)
    assert len(placed.nodes) == len(nodes)
    for i, a in enumerate(placed.nodes):
        for b in placed.nodes[i + 1 :]:
            assert not a.overlaps(b)
    ET.fromstring(render_svg(placed))  # labels of any text stay well-formed
