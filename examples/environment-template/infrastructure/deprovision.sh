#!/bin/sh
set -eu
echo "deprovisioning $RESOURCE_ARN"
