# Written by Hadron for this deployment, as AWS Proton wrote it for a
# self-managed pipeline: the values are in proton.auto.tfvars.json.

variable "pipeline" {
  type = object({
    inputs = map(string)
  })
}

variable "service" {
  type = object({
    branch_name               = string
    name                      = string
    repository_connection_arn = string
    repository_id             = string
  })
}

variable "service_instances" {
  type = any
}

variable "proton_tags" {
  type = map(string)
}
