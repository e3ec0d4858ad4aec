# var.service, var.pipeline, var.service_instances and var.proton_tags are
# declared by proton.pipeline.variables.tf, rendered next to this file.

resource "terraform_data" "pipeline" {
  input = [for i in var.service_instances : "${i.name}@${i.environment.name}"]
}

output "stages" {
  value = var.pipeline.inputs.stages
}

output "instances" {
  value = join(",", terraform_data.pipeline.output)
}
