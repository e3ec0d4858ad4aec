output "greeting" {
  value = terraform_data.app.output
}

output "replicas" {
  value = var.environment.inputs.replicas
}

output "account" {
  value = var.proton_tags["proton:account"]
}
