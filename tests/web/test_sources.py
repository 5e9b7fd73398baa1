"""GET /v1/sources: the bibliography the answers cite, each with a link a reader can follow."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from tests.conftest import SHIPPED_CORPUS


def test_every_shipped_document_is_listed_once_oldest_first(client: FlaskClient) -> None:
    body = client.get("/v1/sources").get_json()

    shipped = {p.stem for p in Path(SHIPPED_CORPUS).glob("*.md") if p.name != "README.md"}
    ids = [s["doc_id"] for s in body["sources"]]
    assert body["count"] == len(ids) == len(set(ids))
    assert set(ids) == shipped
    years = [s["year"] or 0 for s in body["sources"]]
    assert years == sorted(years)


def test_a_source_has_its_bibliographic_record_and_link(client: FlaskClient) -> None:
    record = client.get("/v1/sources/berman2000").get_json()

    assert record == {
        "doc_id": "berman2000",
        "title": "Antidepressant effects of ketamine in depressed patients",
        "authors": "Berman RM, et al.",
        "short_name": record["short_name"],
        "year": 2000,
        "journal": "Biological Psychiatry",
        "doi": "10.1016/S0006-3223(99)00230-9",
        "pmid": None,
        "url": "https://doi.org/10.1016/S0006-3223(99)00230-9",
        "design": "randomized crossover trial",
        "evidence_level": "3",
        "routes": ["IV"],
        "topics": ["efficacy"],
    }
    assert "Berman" in record["short_name"]


def test_every_cited_document_can_be_looked_up(client: FlaskClient) -> None:
    answer = client.post("/v1/chat", json={"message": "Is esketamine approved for depression?"}).get_json()

    for citation in answer["citations"]:
        record = client.get(f"/v1/sources/{citation['doc_id']}").get_json()
        assert record["title"] == citation["title"]
        assert record["url"] == citation["url"]


def test_an_unknown_source_is_a_404(client: FlaskClient) -> None:
    response = client.get("/v1/sources/<script>alert(1)</script>")

    assert response.status_code == 404
    assert response.mimetype == "application/json"
