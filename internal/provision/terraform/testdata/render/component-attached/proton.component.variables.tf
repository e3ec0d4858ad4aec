# Written by Hadron for this deployment, as AWS Proton wrote it for a
# self-managed component: the values are in proton.auto.tfvars.json.

variable "component" {
  type = object({
    name = string
  })
}

variable "environment" {
  type = object({
    account_id = string
    name       = string
    outputs    = map(string)
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

variable "service_instance" {
  type = object({
    inputs = map(string)
    name   = string
  })
}

variable "proton_tags" {
  type = map(string)
}
