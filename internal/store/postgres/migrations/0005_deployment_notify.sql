-- What a running deployment's provisioning reported through
-- NotifyResourceDeploymentStatusChange: the outputs reported so far (a JSON
-- object, merged report by report; applied with the deployment's own outputs
-- when it succeeds, winning over them), and the last status and message.
ALTER TABLE deployments ADD COLUMN notify_outputs TEXT NOT NULL DEFAULT '{}';
ALTER TABLE deployments ADD COLUMN notify_status TEXT NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN notify_status_message TEXT NOT NULL DEFAULT '';
