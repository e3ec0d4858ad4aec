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
  type = list(object({
    environment = object({
      account_id = string
      name       = string
      outputs    = map(string)
    })
    inputs      = map(string)
    name        = string
    outputs     = map(string)
  }))
}

variable "proton_tags" {
  type = map(string)
}
