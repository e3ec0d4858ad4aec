-- The resources a successful deployment provisioned (List*ProvisionedResources),
-- a JSON array of {name, identifier, provisioningEngine}.
ALTER TABLE deployments ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
