terraform {
  required_version = ">= 1.4"
}

variable "name" {
  type = string
}

variable "pause_seconds" {
  type    = number
  default = 0
}

variable "password_sha256" {
  type    = string
  default = ""
}

variable "token_length" {
  type    = number
  default = 0
}

resource "terraform_data" "vpc" {
  input = "vpc-${var.name}"

  # Stands for a slow cloud API call.
  provisioner "local-exec" {
    command = "sleep ${var.pause_seconds}"
  }
}

output "vpc_name" {
  value = terraform_data.vpc.output
}

output "password_sha256" {
  value = var.password_sha256
}

output "token_length" {
  value = var.token_length
}
