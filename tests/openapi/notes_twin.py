#!/usr/bin/python3
"""notes_twin.py — the notes server's OpenAPI document, checked twice.

  notes_twin.py NOTES CONFIG

1. FastAPI's own OpenAPI model (fastapi.openapi.models.OpenAPI, Debian's
   python3-fastapi) parses the document `NOTES --openapi --config CONFIG`
   prints, without error.
2. The same API written in FastAPI (below: the routes, their inputs and
   the current user behind a Bearer token) yields the same set of paths
   and methods, and for each operation the same parameters (name, place,
   required), the same request body (present, required) and the same
   security requirements.

Exit 0 when both hold, 1 listing every difference, 77 (skipped, with a
SKIP line) without FastAPI.
"""
import json
import subprocess
import sys

try:
    from typing import List
    from fastapi import Depends, FastAPI, Query, Response
    from fastapi.openapi.models import OpenAPI
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
    from pydantic import BaseModel, Field
except ImportError as e:
    print(f"SKIP: notes_twin needs python3-fastapi ({e})")
    sys.exit(77)


def twin() -> dict:
    """The notes API in FastAPI."""
    app = FastAPI(title="notes", version="1.0.0")
    bearer = HTTPBearer(scheme_name="bearer")

    def current_user(cred: HTTPAuthorizationCredentials = Depends(bearer)):
        return cred.credentials

    class NoteIn(BaseModel):
        title: str = Field(min_length=1, max_length=200)
        body: str = ""

    @app.post("/notes", status_code=201)
    def create_note(note: NoteIn, user=Depends(current_user)):
        return {}

    @app.get("/notes")
    def list_notes(offset: int = Query(0, ge=0),
                   limit: int = Query(20, ge=1, le=100),
                   user=Depends(current_user)):
        return {}

    @app.get("/notes/{id}")
    def get_note(id: str, user=Depends(current_user)):
        return {}

    @app.put("/notes/{id}")
    def update_note(id: str, note: NoteIn, user=Depends(current_user)):
        return {}

    @app.delete("/notes/{id}", status_code=204)
    def delete_note(id: str, user=Depends(current_user)):
        return Response(status_code=204)

    @app.post("/notes/import", status_code=201)
    def import_notes(notes: List[NoteIn], user=Depends(current_user)):
        return {}

    @app.get("/health")
    def health():
        return {}

    @app.get("/metrics")
    def metrics():
        return ""

    return app.openapi()


def shape(doc: dict) -> dict:
    """(path, method) -> what the comparison covers."""
    out = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            params = sorted((p["name"], p["in"], bool(p.get("required")))
                            for p in op.get("parameters", []))
            body = op.get("requestBody")
            sec = sorted(sorted(req) for req in op.get("security", []))
            out[(path, method)] = {
                "parameters": params,
                "body": None if body is None else bool(body.get("required")),
                "security": sec,
            }
    return out


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    text = subprocess.run([sys.argv[1], "--openapi", "--config", sys.argv[2]],
                          check=True, capture_output=True, text=True).stdout
    doc = json.loads(text)
    problems = []
    if doc.get("openapi") != "3.1.0":
        problems.append(f"openapi is {doc.get('openapi')!r}, not '3.1.0'")
    try:
        OpenAPI.parse_obj(doc)
        print("fastapi.openapi.models.OpenAPI: parsed")
    except Exception as e:  # pydantic's ValidationError lists every field
        problems.append(f"fastapi.openapi.models.OpenAPI refused it: {e}")
    ours, theirs = shape(doc), shape(twin())
    for key in sorted(set(ours) | set(theirs)):
        name = f"{key[1].upper()} {key[0]}"
        if key not in ours:
            problems.append(f"{name}: in FastAPI's document only")
        elif key not in theirs:
            problems.append(f"{name}: in libdi's document only")
        else:
            for what in ("parameters", "body", "security"):
                if ours[key][what] != theirs[key][what]:
                    problems.append(f"{name}: {what}: libdi "
                                    f"{ours[key][what]}, FastAPI "
                                    f"{theirs[key][what]}")
    schemes = doc.get("components", {}).get("securitySchemes", {})
    if schemes.get("bearer", {}).get("scheme") != "bearer":
        problems.append(f"components.securitySchemes: {schemes}")
    for p in problems:
        print(f"notes_twin: {p}")
    if problems:
        return 1
    print(f"notes_twin: {len(ours)} operations: the same paths, methods, "
          "parameters, bodies and security as FastAPI's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
