-- Customer tags, by the key of their record: the resource part of its ARN.
-- A record's tags go with it (the triggers below), so a record created again
-- under the same key never inherits them.
CREATE TABLE tags (
    resource_key TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (resource_key, key)
);

-- How many records there are of each type, template version and status,
-- kept by triggers on every write so GetResourcesSummary reads one row per
-- group instead of every record. Groups that fall to 0 stay as rows of 0.
CREATE TABLE resource_counts (
    type           TEXT    NOT NULL,
    template_name  TEXT    NOT NULL,
    template_major TEXT    NOT NULL,
    template_minor TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    n              INTEGER NOT NULL,
    PRIMARY KEY (type, template_name, template_major, template_minor, status)
);
INSERT INTO resource_counts (type, template_name, template_major, template_minor, status, n)
    SELECT type, template_name, template_major, template_minor, deployment_status, count(*)
    FROM resources GROUP BY type, template_name, template_major, template_minor, deployment_status;
INSERT INTO resource_counts (type, template_name, template_major, template_minor, status, n)
    SELECT 'SERVICE', template_name, template_major, template_minor, status, count(*)
    FROM services GROUP BY template_name, template_major, template_minor, status;
INSERT INTO resource_counts (type, template_name, template_major, template_minor, status, n)
    SELECT CASE kind WHEN 'environment' THEN 'ENVIRONMENT_TEMPLATE' ELSE 'SERVICE_TEMPLATE' END, '', '', '', '', count(*)
    FROM templates GROUP BY kind;

CREATE TRIGGER resources_counted_insert AFTER INSERT ON resources BEGIN
    INSERT INTO resource_counts (type, template_name, template_major, template_minor, status, n)
        VALUES (NEW.type, NEW.template_name, NEW.template_major, NEW.template_minor, NEW.deployment_status, 1)
        ON CONFLICT (type, template_name, template_major, template_minor, status) DO UPDATE SET n = resource_counts.n + 1;
END;
CREATE TRIGGER resources_counted_update AFTER UPDATE OF type, template_name, template_major, template_minor, deployment_status ON resources
WHEN OLD.type IS NOT NEW.type OR OLD.template_name IS NOT NEW.template_name OR OLD.template_major IS NOT NEW.template_major
    OR OLD.template_minor IS NOT NEW.template_minor OR OLD.deployment_status IS NOT NEW.deployment_status
BEGIN
    UPDATE resource_counts SET n = n - 1 WHERE type = OLD.type AND template_name = OLD.template_name
        AND template_major = OLD.template_major AND template_minor = OLD.template_minor AND status = OLD.deployment_status;
    INSERT INTO resource_counts (type, template_name, template_major, template_minor, status, n)
        VALUES (NEW.type, NEW.template_name, NEW.template_major, NEW.template_minor, NEW.deployment_status, 1)
        ON CONFLICT (type, template_name, template_major, template_minor, status) DO UPDATE SET n = resource_counts.n + 1;
END;
CREATE TRIGGER resources_counted_delete AFTER DELETE ON resources BEGIN
    UPDATE resource_counts SET n = n - 1 WHERE type = OLD.type AND template_name = OLD.template_name
        AND template_major = OLD.template_major AND template_minor = OLD.template_minor AND status = OLD.deployment_status;
    DELETE FROM tags WHERE resource_key = OLD.key;
END;

CREATE TRIGGER services_counted_insert AFTER INSERT ON services BEGIN
    INSERT INTO resource_counts (type, template_name, template_major, template_minor, status, n)
        VALUES ('SERVICE', NEW.template_name, NEW.template_major, NEW.template_minor, NEW.status, 1)
        ON CONFLICT (type, template_name, template_major, template_minor, status) DO UPDATE SET n = resource_counts.n + 1;
END;
CREATE TRIGGER services_counted_update AFTER UPDATE OF template_name, template_major, template_minor, status ON services
WHEN OLD.template_name IS NOT NEW.template_name OR OLD.template_major IS NOT NEW.template_major
    OR OLD.template_minor IS NOT NEW.template_minor OR OLD.status IS NOT NEW.status
BEGIN
    UPDATE resource_counts SET n = n - 1 WHERE type = 'SERVICE' AND template_name = OLD.template_name
        AND template_major = OLD.template_major AND template_minor = OLD.template_minor AND status = OLD.status;
    INSERT INTO resource_counts (type, template_name, template_major, template_minor, status, n)
        VALUES ('SERVICE', NEW.template_name, NEW.template_major, NEW.template_minor, NEW.status, 1)
        ON CONFLICT (type, template_name, template_major, template_minor, status) DO UPDATE SET n = resource_counts.n + 1;
END;
CREATE TRIGGER services_counted_delete AFTER DELETE ON services BEGIN
    UPDATE resource_counts SET n = n - 1 WHERE type = 'SERVICE' AND template_name = OLD.template_name
        AND template_major = OLD.template_major AND template_minor = OLD.template_minor AND status = OLD.status;
    DELETE FROM tags WHERE resource_key = 'service/' || OLD.name;
END;

CREATE TRIGGER templates_counted_insert AFTER INSERT ON templates BEGIN
    INSERT INTO resource_counts (type, template_name, template_major, template_minor, status, n)
        VALUES (CASE NEW.kind WHEN 'environment' THEN 'ENVIRONMENT_TEMPLATE' ELSE 'SERVICE_TEMPLATE' END, '', '', '', '', 1)
        ON CONFLICT (type, template_name, template_major, template_minor, status) DO UPDATE SET n = resource_counts.n + 1;
END;
CREATE TRIGGER templates_counted_delete AFTER DELETE ON templates BEGIN
    UPDATE resource_counts SET n = n - 1 WHERE template_name = '' AND template_major = '' AND template_minor = '' AND status = ''
        AND type = CASE OLD.kind WHEN 'environment' THEN 'ENVIRONMENT_TEMPLATE' ELSE 'SERVICE_TEMPLATE' END;
    DELETE FROM tags WHERE resource_key = OLD.kind || '-template/' || OLD.name;
END;

CREATE TRIGGER template_versions_tags_delete AFTER DELETE ON template_versions BEGIN
    DELETE FROM tags WHERE resource_key = OLD.kind || '-template/' || OLD.template_name || ':' || OLD.major || '.' || OLD.minor;
END;

-- What the request that carried a client token asked for (a fingerprint of
-- its parameters), so that the same token with other parameters is told
-- apart from a retry.
ALTER TABLE template_versions ADD COLUMN client_request TEXT NOT NULL DEFAULT '';
ALTER TABLE resources ADD COLUMN last_client_request TEXT NOT NULL DEFAULT '';
