-- Lists of one resource type page by key: an index in that order lets a page
-- read only its own rows instead of sorting every resource of the type.
DROP INDEX resources_by_type_name;
CREATE INDEX resources_by_type_key ON resources (type, key);
