resource "null_resource" "worker" {}
