# The variables (var.environment, var.proton_tags) are declared by the
# proton.environment.variables.tf file rendered next to this one.

terraform {
  required_version = ">= 1.4"
}

locals {
  pause = tonumber(var.environment.inputs.pause_seconds)
}

resource "terraform_data" "app" {
  triggers_replace = var.environment.inputs.greeting
  input            = "${var.environment.inputs.greeting} from ${var.environment.name}"
}

resource "terraform_data" "slow" {
  count = local.pause > 0 ? 1 : 0

  provisioner "local-exec" {
    command = "echo slow resource: sleeping; sleep ${local.pause}"
  }
}
