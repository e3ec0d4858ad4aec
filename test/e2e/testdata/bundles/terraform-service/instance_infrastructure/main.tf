# var.service, var.service_instance, var.environment and var.proton_tags are
# declared by proton.service_instance.variables.tf, rendered next to this file.

resource "terraform_data" "instance" {
  input = "${var.service.name}/${var.service_instance.name} on port ${var.service_instance.inputs.port} in ${var.environment.name}"
}

output "endpoint" {
  value = terraform_data.instance.output
}

output "environment_greeting" {
  value = var.environment.outputs.greeting
}
