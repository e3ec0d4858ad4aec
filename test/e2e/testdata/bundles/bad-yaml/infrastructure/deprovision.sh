#!/bin/sh
set -eu
echo "deprovision: $RESOURCE_ARN"
