-- A list filtered by template (ListEnvironments, ListServiceInstances with
-- a template filter) reads one page in key order within (type, template,
-- major) instead of sorting every match: flat in the number of resources.
CREATE INDEX resources_by_type_template_key ON resources (type, template_name, template_major, key);
-- Claimed active deployments by lease expiry, as PostgreSQL has had since
-- 0001: orphan recovery runs every few seconds and at start, and must not
-- scan the history.
CREATE INDEX deployments_leased ON deployments (lease_expires_at)
    WHERE status IN ('IN_PROGRESS', 'CANCELLING', 'DELETE_IN_PROGRESS') AND lease_owner <> '';
