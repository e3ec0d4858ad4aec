-- The environment account connection an environment uses, as a column, so
-- that rejecting a connection can check "no environment uses it" in the
-- transaction that rejects it (with the connection's row locked).
ALTER TABLE resources ADD COLUMN account_connection_id TEXT NOT NULL DEFAULT '';
UPDATE resources SET account_connection_id = coalesce(json_extract(settings, '$.environmentAccountConnectionId'), '')
    WHERE type = 'ENVIRONMENT';
CREATE INDEX resources_by_account_connection ON resources (account_connection_id) WHERE account_connection_id <> '';
