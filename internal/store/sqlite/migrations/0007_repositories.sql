-- Linked repositories (CreateRepository). key is the resource part of the
-- ARN, "repository/<provider in lowercase>:<owner>/<repo>".
CREATE TABLE repositories (
    key            TEXT    PRIMARY KEY,
    provider       TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    connection_arn TEXT    NOT NULL,
    encryption_key TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL
);

-- The linked repository a resource provisions through (self-managed
-- provisioning), NULL for none: the database itself refuses to delete a
-- repository a resource uses, or to point a resource at one not linked.
ALTER TABLE resources ADD COLUMN repository_key TEXT REFERENCES repositories (key);
CREATE INDEX resources_by_repository ON resources (repository_key);
