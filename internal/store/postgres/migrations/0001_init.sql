-- The schema of internal/store/sqlite/migrations/0001_init.sql in PostgreSQL's
-- dialect. Timestamps are milliseconds since the epoch (BIGINT), as on SQLite,
-- so that both stores hold exactly the same instants. Names that lists sort and
-- page by compare bytewise (COLLATE "C"), as SQLite's do, whatever the
-- database's locale.

-- Templates and their versions.
CREATE TABLE templates (
    kind             TEXT   NOT NULL,
    name             TEXT   COLLATE "C" NOT NULL,
    display_name     TEXT   NOT NULL DEFAULT '',
    description      TEXT   NOT NULL DEFAULT '',
    encryption_key   TEXT   NOT NULL DEFAULT '',
    provisioning     TEXT   NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    last_modified_at BIGINT NOT NULL,
    PRIMARY KEY (kind, name)
);

CREATE TABLE template_versions (
    kind             TEXT    NOT NULL,
    template_name    TEXT    NOT NULL,
    major            INTEGER NOT NULL,
    minor            INTEGER NOT NULL,
    status           TEXT    NOT NULL,
    status_message   TEXT    NOT NULL DEFAULT '',
    description      TEXT    NOT NULL DEFAULT '',
    schema           TEXT    NOT NULL DEFAULT '',
    bundle           BYTEA,
    source_bucket    TEXT    NOT NULL DEFAULT '',
    source_key       TEXT    NOT NULL DEFAULT '',
    client_token     TEXT    NOT NULL DEFAULT '',
    extra            TEXT    NOT NULL DEFAULT '',
    created_at       BIGINT  NOT NULL,
    last_modified_at BIGINT  NOT NULL,
    PRIMARY KEY (kind, template_name, major, minor),
    FOREIGN KEY (kind, template_name) REFERENCES templates (kind, name)
);

-- Deployable resources: environments, service instances, pipelines, components.
-- template_*, spec and outputs are those of the last successful deployment.
CREATE TABLE resources (
    key                           TEXT   COLLATE "C" PRIMARY KEY,
    type                          TEXT   NOT NULL,
    name                          TEXT   NOT NULL,
    service_name                  TEXT   NOT NULL DEFAULT '',
    environment_name              TEXT   NOT NULL DEFAULT '',
    description                   TEXT   NOT NULL DEFAULT '',
    template_name                 TEXT   NOT NULL DEFAULT '',
    template_major                TEXT   NOT NULL DEFAULT '',
    template_minor                TEXT   NOT NULL DEFAULT '',
    spec                          TEXT   NOT NULL DEFAULT '',
    settings                      TEXT   NOT NULL DEFAULT '{}',
    outputs                       TEXT   NOT NULL DEFAULT '{}',
    deployment_status             TEXT   NOT NULL,
    deployment_status_message     TEXT   NOT NULL DEFAULT '',
    last_attempted_deployment_id  TEXT   NOT NULL DEFAULT '',
    last_succeeded_deployment_id  TEXT   NOT NULL DEFAULT '',
    last_deployment_attempted_at  BIGINT NOT NULL DEFAULT 0,
    last_deployment_succeeded_at  BIGINT NOT NULL DEFAULT 0,
    last_client_request_token     TEXT   NOT NULL DEFAULT '',
    created_at                    BIGINT NOT NULL,
    last_modified_at              BIGINT NOT NULL
);
CREATE INDEX resources_by_type_name ON resources (type, name);
CREATE INDEX resources_by_template ON resources (template_name, template_major, template_minor);

-- Deployments outlive their resources (history), so target_key has no foreign key.
CREATE TABLE deployments (
    seq                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                    TEXT   NOT NULL UNIQUE,
    target_key            TEXT   NOT NULL,
    target_type           TEXT   NOT NULL,
    target_created_at     BIGINT NOT NULL,
    environment_name      TEXT   NOT NULL DEFAULT '',
    service_name          TEXT   NOT NULL DEFAULT '',
    service_instance_name TEXT   NOT NULL DEFAULT '',
    component_name        TEXT   NOT NULL DEFAULT '',
    operation             TEXT   NOT NULL,
    status                TEXT   NOT NULL,
    status_message        TEXT   NOT NULL DEFAULT '',
    initial_state         TEXT   NOT NULL DEFAULT '',
    target_state          TEXT   NOT NULL DEFAULT '',
    target_template       TEXT   NOT NULL DEFAULT '',
    target_major          TEXT   NOT NULL DEFAULT '',
    target_minor          TEXT   NOT NULL DEFAULT '',
    target_spec           TEXT   NOT NULL DEFAULT '',
    plan                  TEXT   NOT NULL DEFAULT '',
    outputs               TEXT   NOT NULL DEFAULT '{}',
    last_attempted_id     TEXT   NOT NULL DEFAULT '',
    last_succeeded_id     TEXT   NOT NULL DEFAULT '',
    lease_owner           TEXT   NOT NULL DEFAULT '',
    lease_expires_at      BIGINT NOT NULL DEFAULT 0,
    created_at            BIGINT NOT NULL,
    last_modified_at      BIGINT NOT NULL,
    completed_at          BIGINT NOT NULL DEFAULT 0
);
-- At most one active deployment per resource, enforced by the database itself,
-- across every node that shares it.
CREATE UNIQUE INDEX deployments_one_active ON deployments (target_key)
    WHERE status IN ('IN_PROGRESS', 'CANCELLING', 'DELETE_IN_PROGRESS');
-- The queue: active deployments no worker has claimed yet.
CREATE INDEX deployments_queue ON deployments (seq)
    WHERE status IN ('IN_PROGRESS', 'DELETE_IN_PROGRESS') AND lease_owner = '';
-- Claimed active deployments by lease expiry: every node looks for expired
-- leases periodically, so this must not scan the history.
CREATE INDEX deployments_leased ON deployments (lease_expires_at)
    WHERE status IN ('IN_PROGRESS', 'CANCELLING', 'DELETE_IN_PROGRESS') AND lease_owner <> '';
CREATE INDEX deployments_by_target ON deployments (target_key, seq);
CREATE INDEX deployments_by_environment ON deployments (environment_name, seq);
CREATE INDEX deployments_by_service ON deployments (service_name, service_instance_name, seq);
CREATE INDEX deployments_by_component ON deployments (component_name, seq);
