# Written by Hadron for this deployment, as AWS Proton wrote it for a
# self-managed environment: the values are in proton.auto.tfvars.json.

variable "environment" {
  type = object({
    account_id = string
    inputs     = map(string)
    name       = string
  })
}

variable "proton_tags" {
  type = map(string)
}
