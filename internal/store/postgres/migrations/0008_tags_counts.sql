-- Customer tags, by the key of their record: the resource part of its ARN.
-- A record's tags go with it (the triggers below), so a record created again
-- under the same key never inherits them.
CREATE TABLE tags (
    resource_key TEXT COLLATE "C" NOT NULL,
    key          TEXT COLLATE "C" NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (resource_key, key)
);

-- How many records there are of each type, template version and status,
-- kept by triggers on every write so GetResourcesSummary reads one row per
-- group instead of every record. Groups that fall to 0 stay as rows of 0.
CREATE TABLE resource_counts (
    type           TEXT   NOT NULL,
    template_name  TEXT   NOT NULL,
    template_major TEXT   NOT NULL,
    template_minor TEXT   NOT NULL,
    status         TEXT   NOT NULL,
    n              BIGINT NOT NULL,
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

-- resource_count_add adds d to the count of one group.
CREATE FUNCTION resource_count_add(t TEXT, tn TEXT, tmaj TEXT, tmin TEXT, st TEXT, d BIGINT) RETURNS void AS $$
    INSERT INTO resource_counts (type, template_name, template_major, template_minor, status, n)
        VALUES (t, tn, tmaj, tmin, st, d)
        ON CONFLICT (type, template_name, template_major, template_minor, status) DO UPDATE SET n = resource_counts.n + d;
$$ LANGUAGE sql;

CREATE FUNCTION resources_counted() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM resource_count_add(OLD.type, OLD.template_name, OLD.template_major, OLD.template_minor, OLD.deployment_status, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM resource_count_add(NEW.type, NEW.template_name, NEW.template_major, NEW.template_minor, NEW.deployment_status, 1);
    END IF;
    IF TG_OP = 'DELETE' THEN
        DELETE FROM tags WHERE resource_key = OLD.key;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER resources_counted_change AFTER UPDATE OF type, template_name, template_major, template_minor, deployment_status ON resources
    FOR EACH ROW WHEN (OLD.type IS DISTINCT FROM NEW.type OR OLD.template_name IS DISTINCT FROM NEW.template_name
        OR OLD.template_major IS DISTINCT FROM NEW.template_major OR OLD.template_minor IS DISTINCT FROM NEW.template_minor
        OR OLD.deployment_status IS DISTINCT FROM NEW.deployment_status)
    EXECUTE FUNCTION resources_counted();
CREATE TRIGGER resources_counted AFTER INSERT OR DELETE ON resources FOR EACH ROW EXECUTE FUNCTION resources_counted();

CREATE FUNCTION services_counted() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM resource_count_add('SERVICE', OLD.template_name, OLD.template_major, OLD.template_minor, OLD.status, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM resource_count_add('SERVICE', NEW.template_name, NEW.template_major, NEW.template_minor, NEW.status, 1);
    END IF;
    IF TG_OP = 'DELETE' THEN
        DELETE FROM tags WHERE resource_key = 'service/' || OLD.name;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER services_counted_change AFTER UPDATE OF template_name, template_major, template_minor, status ON services
    FOR EACH ROW WHEN (OLD.template_name IS DISTINCT FROM NEW.template_name OR OLD.template_major IS DISTINCT FROM NEW.template_major
        OR OLD.template_minor IS DISTINCT FROM NEW.template_minor OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION services_counted();
CREATE TRIGGER services_counted AFTER INSERT OR DELETE ON services FOR EACH ROW EXECUTE FUNCTION services_counted();

CREATE FUNCTION templates_counted() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM resource_count_add(CASE NEW.kind WHEN 'environment' THEN 'ENVIRONMENT_TEMPLATE' ELSE 'SERVICE_TEMPLATE' END, '', '', '', '', 1);
    ELSE
        PERFORM resource_count_add(CASE OLD.kind WHEN 'environment' THEN 'ENVIRONMENT_TEMPLATE' ELSE 'SERVICE_TEMPLATE' END, '', '', '', '', -1);
        DELETE FROM tags WHERE resource_key = OLD.kind || '-template/' || OLD.name;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER templates_counted AFTER INSERT OR DELETE ON templates FOR EACH ROW EXECUTE FUNCTION templates_counted();

CREATE FUNCTION template_versions_tags_delete() RETURNS trigger AS $$
BEGIN
    DELETE FROM tags WHERE resource_key = OLD.kind || '-template/' || OLD.template_name || ':' || OLD.major::text || '.' || OLD.minor::text;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER template_versions_tags_delete AFTER DELETE ON template_versions FOR EACH ROW EXECUTE FUNCTION template_versions_tags_delete();

-- What the request that carried a client token asked for (a fingerprint of
-- its parameters), so that the same token with other parameters is told
-- apart from a retry.
ALTER TABLE template_versions ADD COLUMN client_request TEXT NOT NULL DEFAULT '';
ALTER TABLE resources ADD COLUMN last_client_request TEXT NOT NULL DEFAULT '';
