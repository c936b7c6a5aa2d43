"""The catalog for open-data portals in DCAT-AP.de (rdflib): a ``dcat:Catalog``, one
``dcat:Dataset`` per event type, ``dcat:DataService`` for the schema registry and the ingest
gateway. Personal data is never open: a data set that holds any is ``NON_PUBLIC``; only its
description (schema) is published. Pure: facts and base URLs in, an rdflib graph out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

from portal.facts import Dataset, Facts

DCATDE = Namespace("http://dcat-ap.de/def/dcatde/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
THEME = Namespace("http://publications.europa.eu/resource/authority/data-theme/")
ACCESS = Namespace("http://publications.europa.eu/resource/authority/access-right/")
FILE_TYPE = Namespace("http://publications.europa.eu/resource/authority/file-type/")
LICENCE = URIRef("http://dcat-ap.de/def/licenses/dl-by-de/2.0")
GEOCODING_LEVEL = URIRef("http://dcat-ap.de/def/politicalGeocoding/Level/municipality")
SHAPES = Path(__file__).with_name("shapes") / "dcat-ap-de.shapes.ttl"

# The EU data theme of each department's data (Data Theme vocabulary).
THEMES = {
    "buergeramt": "SOCI",
    "ordnungsamt": "JUST",
    "tiefbauamt": "TRAN",
    "umweltamt": "ENVI",
    "feuerwehr": "JUST",
    "jugendamt": "EDUC",
    "bauordnungsamt": "REGI",
}


@dataclass(frozen=True)
class Endpoints:
    portal: str
    registry: str
    gateway: str


def _de(text: str) -> Literal:
    return Literal(text, lang="de")


def catalog_graph(facts: Facts, endpoints: Endpoints, today: dt.date | None = None) -> Graph:
    """Every resource has a stable URI under the portal's address (no blank nodes), so two
    harvests of the same catalog give the same graph."""
    g = Graph()
    for prefix, ns in (
        ("dcat", DCAT),
        ("dct", DCTERMS),
        ("foaf", FOAF),
        ("vcard", VCARD),
        ("dcatde", DCATDE),
    ):
        g.bind(prefix, ns)
    base = endpoints.portal.rstrip("/")
    org = facts.organisation
    spatial = URIRef(
        f"http://dcat-ap.de/def/politicalGeocoding/municipalityKey/{org.spatial.municipality_key}"
    )
    publisher = URIRef(f"{base}/#herausgeber")
    g.add((publisher, RDF.type, FOAF.Organization))
    g.add((publisher, FOAF.name, _de(org.controller.name)))
    contact = URIRef(f"{base}/#kontakt")
    g.add((contact, RDF.type, VCARD.Organization))
    g.add((contact, VCARD.fn, _de(org.controller.name)))
    g.add((contact, VCARD.hasEmail, URIRef(f"mailto:{org.controller.email}")))

    catalog = URIRef(f"{base}/dcat/catalog")
    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, DCTERMS.title, _de(f"Datendrehscheibe der Stadt {org.spatial.name}")))
    g.add(
        (
            catalog,
            DCTERMS.description,
            _de(
                "Die Datensätze, die die Fachämter der Stadt über die Datendrehscheibe "
                "austauschen. Personenbezogene Daten sind nicht öffentlich; veröffentlicht ist "
                "ihre Beschreibung."
            ),
        )
    )
    g.add((catalog, DCTERMS.publisher, publisher))
    g.add((catalog, FOAF.homepage, URIRef(f"{base}/")))
    g.add((catalog, DCTERMS.spatial, spatial))
    g.add(
        (
            catalog,
            DCTERMS.language,
            URIRef("http://publications.europa.eu/resource/authority/language/DEU"),
        )
    )

    for topic, d in facts.datasets.items():
        ds = URIRef(f"{base}/datensaetze/{quote(topic)}")
        g.add((catalog, DCAT.dataset, ds))
        g.add((ds, RDF.type, DCAT.Dataset))
        g.add((ds, DCTERMS.identifier, Literal(topic)))
        g.add((ds, DCTERMS.title, _de(d.title)))
        g.add((ds, DCTERMS.description, _de(d.description)))
        g.add((ds, DCTERMS.publisher, publisher))
        g.add((ds, DCAT.contactPoint, contact))
        g.add((ds, DCAT.landingPage, ds))
        g.add((ds, DCAT.theme, THEME[THEMES.get(d.department, "GOVE")]))
        g.add((ds, DCTERMS.spatial, spatial))
        g.add((ds, DCATDE.politicalGeocodingLevelURI, GEOCODING_LEVEL))
        g.add((ds, DCATDE.politicalGeocodingURI, spatial))
        g.add((ds, DCTERMS.accessRights, ACCESS["NON_PUBLIC" if d.personal else "RESTRICTED"]))
        g.add(
            (ds, URIRef("http://www.w3.org/2002/07/owl#versionInfo"), Literal(str(d.versions[-1])))
        )
        for word in _keywords(facts, d):
            g.add((ds, DCAT.keyword, _de(word)))
        dist = URIRef(f"{base}/datensaetze/{quote(topic)}#schema")
        g.add((ds, DCAT.distribution, dist))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCTERMS.title, _de(f"Avro-Schema von {topic} (Schema-Registry)")))
        g.add(
            (
                dist,
                DCAT.accessURL,
                URIRef(
                    f"{endpoints.registry.rstrip('/')}/subjects/{quote(topic)}-value/versions/latest"
                ),
            )
        )
        g.add((dist, DCTERMS.format, FILE_TYPE.JSON))
        g.add((dist, DCTERMS.license, LICENCE))
        g.add(
            (
                dist,
                DCAT.mediaType,
                URIRef("https://www.iana.org/assignments/media-types/application/json"),
            )
        )

    for slug, title, url, text in (
        (
            "registry",
            "Schema-Registry der Datendrehscheibe",
            endpoints.registry,
            "Die Verträge (Avro-Schemas) aller Datensätze, über die Schnittstelle der Confluent "
            "Schema Registry.",
        ),
        (
            "gateway",
            "HTTP-Eingang der Datendrehscheibe",
            endpoints.gateway,
            "Schnittstelle, über die Fachverfahren Ereignisse melden; nur für die Fachämter.",
        ),
    ):
        service = URIRef(f"{base}/dcat/{slug}")
        g.add((catalog, DCAT.service, service))
        g.add((service, RDF.type, DCAT.DataService))
        g.add((service, DCTERMS.title, _de(title)))
        g.add((service, DCTERMS.description, _de(text)))
        g.add((service, DCAT.endpointURL, URIRef(url.rstrip("/") + "/")))
        g.add((service, DCTERMS.publisher, publisher))
        g.add((service, DCAT.contactPoint, contact))
        g.add((service, DCTERMS.accessRights, ACCESS.RESTRICTED))
        g.add((service, DCTERMS.license, LICENCE))
        for topic in facts.datasets:
            g.add((service, DCAT.servesDataset, URIRef(f"{base}/datensaetze/{quote(topic)}")))
    day = today or dt.date.today()
    g.add((catalog, DCTERMS.modified, Literal(day.isoformat(), datatype=XSD.date)))
    return g


def _keywords(facts: Facts, dataset: Dataset) -> list[str]:
    entity, event = dataset.topic.split(".", 1)[1].split(".")
    return [
        facts.department_name(dataset.department).split(",")[0],
        entity,
        event,
        "personenbezogen" if dataset.personal else "nicht personenbezogen",
    ]


def turtle(graph: Graph) -> str:
    return graph.serialize(format="turtle")


def jsonld(graph: Graph) -> str:
    return graph.serialize(
        format="json-ld",
        context={
            "dcat": str(DCAT),
            "dct": str(DCTERMS),
            "foaf": str(FOAF),
            "vcard": str(VCARD),
            "dcatde": str(DCATDE),
        },
    )
