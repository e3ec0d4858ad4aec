-- What the last successful deployment of a resource provisioned, as
-- List*ProvisionedResources shows it: a JSON array of {name, identifier,
-- provisioningEngine}.
ALTER TABLE resources ADD COLUMN provisioned_resources TEXT NOT NULL DEFAULT '[]';
