"""schema/schema.graphql is the public contract: it must match the code."""

from __future__ import annotations

from typer.testing import CliRunner

from backend.cli import SCHEMA_FILE, app


def test_exported_schema_matches_the_code():
    result = CliRunner().invoke(app, ["schema", "check"])
    assert result.exit_code == 0, result.output


def test_schema_check_fails_with_a_diff_on_drift(tmp_path):
    stale = tmp_path / "schema.graphql"
    stale.write_text(SCHEMA_FILE.read_text().replace("viewer: Viewer!", "viewer: Viewer"))
    result = CliRunner().invoke(app, ["schema", "check", "--path", str(stale)])
    assert result.exit_code == 1
    assert "+  viewer: Viewer!" in result.output and "jishi schema export" in result.output


def test_api_contract_names_exist():
    sdl = SCHEMA_FILE.read_text()
    for name in ["interface Node", "node(id: ID!): Node", "nodes(ids: [ID!]!): [Node]!", "viewer: Viewer!",
                 "moduleEnable(input: ModuleEnableInput!): ModuleEnablePayload!",
                 "moduleDisable(input: ModuleDisableInput!): ModuleDisablePayload!", "type UserError"]:
        assert name in sdl, name
