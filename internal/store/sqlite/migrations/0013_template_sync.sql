-- Template sync (issue 13): one config per template, naming the linked
-- repository and branch it is synced from. Deleting the template deletes
-- its config; the repository cannot be unlinked while a config uses it.
CREATE TABLE template_sync_configs (
    kind             TEXT    NOT NULL,
    template_name    TEXT    NOT NULL,
    repository_key   TEXT    NOT NULL REFERENCES repositories (key),
    branch           TEXT    NOT NULL,
    subdirectory     TEXT    NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    last_modified_at INTEGER NOT NULL,
    PRIMARY KEY (kind, template_name),
    FOREIGN KEY (kind, template_name) REFERENCES templates (kind, name) ON DELETE CASCADE
);
CREATE INDEX template_sync_configs_by_repository ON template_sync_configs (repository_key, branch);

-- What template sync last registered for each template major: the digest
-- of the major's directory, the commit and the minor it became.
CREATE TABLE template_sync_majors (
    kind          TEXT    NOT NULL,
    template_name TEXT    NOT NULL,
    major         INTEGER NOT NULL,
    digest        TEXT    NOT NULL,
    commit_id     TEXT    NOT NULL,
    minor         INTEGER NOT NULL,
    synced_at     INTEGER NOT NULL,
    PRIMARY KEY (kind, template_name, major),
    FOREIGN KEY (kind, template_name) REFERENCES templates (kind, name) ON DELETE CASCADE
);

-- The repository watcher (package reposync): which node holds a watched
-- branch (a lease), and the last commit each sync type handled there.
-- Keyed by the repository's key without a foreign key: the watcher's
-- memory of a branch outlives the configs that watched it.
CREATE TABLE sync_branches (
    repository_key   TEXT    NOT NULL,
    branch           TEXT    NOT NULL,
    lease_owner      TEXT    NOT NULL DEFAULT '',
    lease_expires_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (repository_key, branch)
);
CREATE TABLE sync_heads (
    repository_key TEXT    NOT NULL,
    branch         TEXT    NOT NULL,
    sync_type      TEXT    NOT NULL,
    commit_id      TEXT    NOT NULL,
    handled_at     INTEGER NOT NULL,
    PRIMARY KEY (repository_key, branch, sync_type)
);

-- Sync attempts (GetRepositorySyncStatus, GetTemplateSyncStatus,
-- GetServiceInstanceSyncStatus) with their events, written once finished.
CREATE TABLE repository_sync_attempts (
    id             INTEGER PRIMARY KEY,
    repository_key TEXT    NOT NULL,
    branch         TEXT    NOT NULL,
    sync_type      TEXT    NOT NULL,
    commit_id      TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    started_at     INTEGER NOT NULL
);
CREATE INDEX repository_sync_attempts_latest ON repository_sync_attempts (repository_key, branch, sync_type, id);
CREATE TABLE repository_sync_events (
    attempt_id  INTEGER NOT NULL REFERENCES repository_sync_attempts (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    event       TEXT    NOT NULL,
    external_id TEXT    NOT NULL DEFAULT '',
    at          INTEGER NOT NULL,
    PRIMARY KEY (attempt_id, seq)
);
CREATE TABLE resource_sync_attempts (
    id               INTEGER PRIMARY KEY,
    sync_type        TEXT    NOT NULL,
    target_key       TEXT    NOT NULL,
    target           TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    initial_revision TEXT    NOT NULL DEFAULT '',
    target_revision  TEXT    NOT NULL,
    started_at       INTEGER NOT NULL
);
CREATE INDEX resource_sync_attempts_latest ON resource_sync_attempts (sync_type, target_key, id);
CREATE INDEX resource_sync_attempts_latest_by_status ON resource_sync_attempts (sync_type, target_key, status, id);
CREATE TABLE resource_sync_events (
    attempt_id  INTEGER NOT NULL REFERENCES resource_sync_attempts (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    event       TEXT    NOT NULL,
    external_id TEXT    NOT NULL DEFAULT '',
    at          INTEGER NOT NULL,
    PRIMARY KEY (attempt_id, seq)
);
