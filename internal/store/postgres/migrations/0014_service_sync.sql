-- Service sync (issue 13): a service's instances follow a proton-ops file
-- in a linked repository. One configuration per service; it goes with its
-- service, and the database refuses to delete the repository it names.
CREATE TABLE service_sync_configs (
    service_name     TEXT    COLLATE "C" PRIMARY KEY REFERENCES services (name) ON DELETE CASCADE,
    repository_key   TEXT    COLLATE "C" NOT NULL REFERENCES repositories (key),
    provider         TEXT    NOT NULL,
    repository_name  TEXT    NOT NULL,
    branch           TEXT    NOT NULL,
    file_path        TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    last_modified_at BIGINT  NOT NULL
);
CREATE INDEX service_sync_configs_by_repository ON service_sync_configs (repository_key, branch);

-- Sync blockers stop the sync of one instance (instance_name set) or of
-- the whole service (instance_name ''). At most one ACTIVE blocker per
-- target, so that a blocker raised twice is one blocker.
CREATE TABLE service_sync_blockers (
    id              TEXT    COLLATE "C" PRIMARY KEY,
    service_name    TEXT    COLLATE "C" NOT NULL REFERENCES services (name) ON DELETE CASCADE,
    instance_name   TEXT    COLLATE "C" NOT NULL DEFAULT '',
    type            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    created_reason  TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    resolved_reason TEXT    NOT NULL DEFAULT '',
    resolved_at     BIGINT  NOT NULL DEFAULT 0,
    contexts        TEXT    NOT NULL DEFAULT '[]'
);
CREATE UNIQUE INDEX service_sync_blockers_one_active ON service_sync_blockers (service_name, instance_name)
    WHERE status = 'ACTIVE';
CREATE INDEX service_sync_blockers_by_target ON service_sync_blockers (service_name, instance_name, created_at);

-- What the sync of each instance last did and aims at (the attempts are
-- JSON of the API's shapes, owned by package proton).
CREATE TABLE service_instance_syncs (
    service_name   TEXT    COLLATE "C" NOT NULL REFERENCES services (name) ON DELETE CASCADE,
    instance_name  TEXT    COLLATE "C" NOT NULL,
    spec_digest    TEXT    NOT NULL DEFAULT '',
    deployment_id  TEXT    NOT NULL DEFAULT '',
    desired        TEXT    NOT NULL DEFAULT '',
    latest_attempt TEXT    NOT NULL DEFAULT '',
    latest_success TEXT    NOT NULL DEFAULT '',
    updated_at     BIGINT  NOT NULL,
    PRIMARY KEY (service_name, instance_name)
);
