-- Account-wide settings (the account settings of the Proton API), one row per key.
CREATE TABLE settings (
    key              TEXT    PRIMARY KEY,
    value            TEXT    NOT NULL,
    last_modified_at INTEGER NOT NULL
);
