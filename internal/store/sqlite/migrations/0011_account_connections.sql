-- Environment account connections: an environment account's request that a
-- management account provision one environment in it with the roles given.
CREATE TABLE account_connections (
    id                     TEXT PRIMARY KEY,
    management_account_id  TEXT    NOT NULL,
    environment_account_id TEXT    NOT NULL,
    environment_name       TEXT    NOT NULL,
    role_arn               TEXT    NOT NULL DEFAULT '',
    component_role_arn     TEXT    NOT NULL DEFAULT '',
    codebuild_role_arn     TEXT    NOT NULL DEFAULT '',
    status                 TEXT    NOT NULL,
    client_token           TEXT    NOT NULL DEFAULT '',
    client_request         TEXT    NOT NULL DEFAULT '',
    requested_at           INTEGER NOT NULL,
    last_modified_at       INTEGER NOT NULL
);
-- One live connection per management account, environment account and
-- environment: a rejected one no longer counts.
CREATE UNIQUE INDEX account_connections_one_live ON account_connections
    (management_account_id, environment_account_id, environment_name) WHERE status <> 'REJECTED';
CREATE INDEX account_connections_by_management ON account_connections (management_account_id, id);
CREATE INDEX account_connections_by_environment_account ON account_connections (environment_account_id, id);
