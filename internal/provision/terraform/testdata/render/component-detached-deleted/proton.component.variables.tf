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

variable "proton_tags" {
  type = map(string)
}
