"""The practice page's shell, its static files and the catalog its pickers read (no browser needed)."""
from __future__ import annotations

import re

from tests.support.client import ApiClient, data


def test_the_page_and_every_file_it_loads_are_served_locally(anon: ApiClient) -> None:
    for page in ("/", "/ops"):
        r = anon.get(page)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
        refs = re.findall(r'(?:src|href)="([^"#]+)"', r.text)
        assert refs and not [u for u in refs if u.startswith(("http:", "https:", "//"))], "nothing from a CDN"
        for ref in (u for u in refs if u.startswith("/static/")):
            asset = anon.get(ref)
            assert asset.status_code == 200, ref
            if ref.endswith(".js"):
                # Browsers refuse ES modules served with a non-JavaScript type.
                assert "javascript" in asset.headers["Content-Type"], ref
                for imported in re.findall(r'from "\./([^"]+)"', asset.text):
                    assert anon.get(f"/static/{imported}").status_code == 200, imported


def test_the_catalog_lists_the_roles_focus_areas_and_difficulties_a_session_accepts(client: ApiClient) -> None:
    catalog = data(client.get("/api/catalog", auth=False))
    roles = [r["value"] for r in catalog["roles"]]
    areas = [a["value"] for a in catalog["focus_areas"]]
    assert "software_engineer" in roles and "behavioral" in areas
    assert [d["value"] for d in catalog["difficulties"]] == ["easy", "medium", "hard"]
    assert catalog["wpm_band"] == {"min": 110, "max": 180}
    assert catalog["question_count"]["min"] == 1 and catalog["question_count"]["max"] >= 5
    # Every combination the page offers is one the API accepts.
    for role in roles:
        r = client.post("/session/start", json={"job_type": role, "focus_area": areas[0], "difficulty": "hard",
                                                "question_count": catalog["question_count"]["min"]})
        assert r.status_code == 201, (role, r.text)
    # Free-text roles map to the nearest bank role (issue 11); a difficulty outside the list is refused.
    r = client.post("/session/start", json={"job_type": "astronaut", "focus_area": areas[0], "difficulty": "impossible"})
    assert r.status_code == 400 and r.json()["details"][0]["path"] == "difficulty"
