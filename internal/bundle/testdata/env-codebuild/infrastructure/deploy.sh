#!/bin/sh
# Stands in for real provisioning: reads proton-inputs.json, writes outputs.
set -eu
echo "$1: $(cat proton-inputs.json)"
echo '[{"key":"vpc_id","valueString":"vpc-0001"}]' > proton-outputs.json
