-- A status change moves a resource from one count to another: one count row
-- down, one up. 0008 took the old row first, so a deployment starting on one
-- environment (SUCCEEDED -> IN_PROGRESS) and another's finishing on the same
-- template (IN_PROGRESS -> SUCCEEDED) took the same two rows in opposite
-- orders and deadlocked; under steady load the transaction PostgreSQL chose
-- to abort met the same partner again when retried, and every deployment of
-- the template queued behind the pair. The rows are now taken in the order
-- of their keys, whatever the direction.
CREATE OR REPLACE FUNCTION resource_count_move(
    ot TEXT, otn TEXT, otmaj TEXT, otmin TEXT, ost TEXT,
    nt TEXT, ntn TEXT, ntmaj TEXT, ntmin TEXT, nst TEXT) RETURNS void AS $$
BEGIN
    IF ROW(ot, otn, otmaj, otmin, ost) <= ROW(nt, ntn, ntmaj, ntmin, nst) THEN
        PERFORM resource_count_add(ot, otn, otmaj, otmin, ost, -1);
        PERFORM resource_count_add(nt, ntn, ntmaj, ntmin, nst, 1);
    ELSE
        PERFORM resource_count_add(nt, ntn, ntmaj, ntmin, nst, 1);
        PERFORM resource_count_add(ot, otn, otmaj, otmin, ost, -1);
    END IF;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION resources_counted() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM resource_count_move(OLD.type, OLD.template_name, OLD.template_major, OLD.template_minor, OLD.deployment_status,
            NEW.type, NEW.template_name, NEW.template_major, NEW.template_minor, NEW.deployment_status);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM resource_count_add(OLD.type, OLD.template_name, OLD.template_major, OLD.template_minor, OLD.deployment_status, -1);
        DELETE FROM tags WHERE resource_key = OLD.key;
    ELSE
        PERFORM resource_count_add(NEW.type, NEW.template_name, NEW.template_major, NEW.template_minor, NEW.deployment_status, 1);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION services_counted() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM resource_count_move('SERVICE', OLD.template_name, OLD.template_major, OLD.template_minor, OLD.status,
            'SERVICE', NEW.template_name, NEW.template_major, NEW.template_minor, NEW.status);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM resource_count_add('SERVICE', OLD.template_name, OLD.template_major, OLD.template_minor, OLD.status, -1);
        DELETE FROM tags WHERE resource_key = 'service/' || OLD.name;
    ELSE
        PERFORM resource_count_add('SERVICE', NEW.template_name, NEW.template_major, NEW.template_minor, NEW.status, 1);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
