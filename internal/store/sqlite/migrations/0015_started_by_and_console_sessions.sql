-- Who or what started each deployment: the access key whose call started it
-- (its id and its name, the key's description) or, for Hadron's own starts,
-- a label such as 'hadron (template sync)' with no key. Deployments made
-- before this migration have neither ('').
ALTER TABLE deployments ADD COLUMN started_by_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN started_by TEXT NOT NULL DEFAULT '';

-- The web console's sign-ins, shared by every node and kept over restarts.
-- id_hash is the SHA-256 of the session id the browser's cookie holds (hex),
-- so a copy of the database signs no one in; key_id is the access key the
-- person signed in with ('' with authentication off); csrf is the token
-- every form of the session carries. Times are milliseconds since the epoch.
CREATE TABLE console_sessions (
    id_hash    TEXT    PRIMARY KEY,
    key_id     TEXT    NOT NULL,
    csrf       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
CREATE INDEX console_sessions_by_key ON console_sessions (key_id);
