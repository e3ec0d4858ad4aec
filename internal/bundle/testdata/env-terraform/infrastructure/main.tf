resource "aws_vpc" "this" {
  cidr_block = var.environment.inputs.vpc_cidr
}
