-- Services: their instances and pipeline are resources; the service row holds
-- the service's own status and, while a change is in flight, what it is doing.
CREATE TABLE services (
    name                      TEXT    COLLATE "C" PRIMARY KEY,
    description               TEXT    NOT NULL DEFAULT '',
    spec                      TEXT    NOT NULL DEFAULT '',
    template_name             TEXT    NOT NULL,
    template_major            TEXT    NOT NULL,
    template_minor            TEXT    NOT NULL,
    status                    TEXT    NOT NULL,
    status_message            TEXT    NOT NULL DEFAULT '',
    branch_name               TEXT    NOT NULL DEFAULT '',
    repository_connection_arn TEXT    NOT NULL DEFAULT '',
    repository_id             TEXT    NOT NULL DEFAULT '',
    operation                 TEXT    NOT NULL DEFAULT '',
    created_at                BIGINT  NOT NULL,
    last_modified_at          BIGINT  NOT NULL
);
CREATE INDEX resources_by_service ON resources (service_name, type, key);
