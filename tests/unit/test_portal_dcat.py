"""The DCAT-AP.de catalog conforms to the SHACL shapes the project keeps (pyshacl), and the
shapes have teeth: a graph without a mandatory property does not conform."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyshacl
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from portal.dcat import ACCESS, DCATDE, SHAPES, Endpoints, catalog_graph, jsonld, turtle
from portal.facts import load_facts

REPO = Path(__file__).resolve().parents[2]
ENDPOINTS = Endpoints(
    "https://daten.hamm.de", "https://registry.hamm.de", "https://gateway.hamm.de"
)


@pytest.fixture(scope="module")
def facts():
    return load_facts(REPO / "catalog", REPO / "schemas")


@pytest.fixture(scope="module")
def graph(facts):
    return catalog_graph(facts, ENDPOINTS, dt.date(2026, 12, 1))


@pytest.fixture(scope="module")
def shapes():
    return Graph().parse(SHAPES)


def conforms(graph: Graph, shapes: Graph) -> tuple[bool, str]:
    ok, _, text = pyshacl.validate(graph, shacl_graph=shapes, inference="none")
    return ok, text


def test_the_catalog_conforms_to_dcat_ap_de(graph, shapes):
    ok, text = conforms(graph, shapes)
    assert ok, text


def test_a_dataset_per_event_type_and_two_data_services(graph, facts):
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    assert len(datasets) == len(facts.datasets) == 16
    services = set(graph.subjects(RDF.type, DCAT.DataService))
    assert {str(s) for s in services} == {
        "https://daten.hamm.de/dcat/registry",
        "https://daten.hamm.de/dcat/gateway",
    }


def test_personal_data_is_not_open_and_hamm_is_the_place(graph, facts):
    for topic, d in facts.datasets.items():
        ds = URIRef(f"https://daten.hamm.de/datensaetze/{topic}")
        rights = set(graph.objects(ds, DCTERMS.accessRights))
        assert rights == {ACCESS.NON_PUBLIC if d.personal else ACCESS.RESTRICTED}
        assert set(graph.objects(ds, DCTERMS.spatial)) == {
            URIRef("http://dcat-ap.de/def/politicalGeocoding/municipalityKey/05915000")
        }
        assert set(graph.objects(ds, DCATDE.politicalGeocodingLevelURI)) == {
            URIRef("http://dcat-ap.de/def/politicalGeocoding/Level/municipality")
        }


@pytest.mark.parametrize(
    "drop",
    [
        DCTERMS.title,
        DCTERMS.description,
        DCTERMS.publisher,
        DCAT.contactPoint,
        DCAT.keyword,
        DCAT.theme,
        DCTERMS.spatial,
        DCATDE.politicalGeocodingLevelURI,
        DCTERMS.accessRights,
    ],
)
def test_a_dataset_without_a_mandatory_property_does_not_conform(graph, shapes, drop):
    broken = Graph()
    for triple in graph:
        broken.add(triple)
    ds = URIRef("https://daten.hamm.de/datensaetze/buergeramt.resident.moved")
    broken.remove((ds, drop, None))
    ok, text = conforms(broken, shapes)
    assert not ok
    assert "buergeramt.resident.moved" in text


def test_serializations_round_trip(graph):
    again_ttl = Graph().parse(data=turtle(graph), format="turtle")
    again_ld = Graph().parse(data=jsonld(graph), format="json-ld")
    assert len(again_ttl) == len(graph) == len(again_ld)
