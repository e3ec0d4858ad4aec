-- A list filtered by template (ListEnvironments, ListServiceInstances with
-- a template filter) reads one page in key order within (type, template,
-- major) instead of sorting every match: flat in the number of resources.
CREATE INDEX resources_by_type_template_key ON resources (type, template_name, template_major, key);
