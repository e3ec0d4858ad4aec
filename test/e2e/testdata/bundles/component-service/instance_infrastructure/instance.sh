#!/bin/sh
# Provisioning of a service instance of the e2e component tests' service
# template (no pipeline). proton-inputs.json is Proton's inputs file of an
# instance, compact JSON with sorted keys; an attached component's outputs
# are in it as "service_instance":{"components":{"default":{"name":..,
# "outputs":{..}}},..}. Writes the component's name and Bucket output (empty
# without a component) and the input port as outputs.
set -eu
component=$(sed -n 's/.*"components":{"default":{"name":"\([^"]*\)".*/\1/p' proton-inputs.json)
bucket=$(sed -n 's/.*"components":{"default":{[^}]*"outputs":{[^}]*"Bucket":"\([^"]*\)".*/\1/p' proton-inputs.json)
port=$(sed -n 's/.*"inputs":{[^}]*"port":\([0-9]*\).*/\1/p' proton-inputs.json)
echo "instance: component=${component:-none} bucket=${bucket:-none}"
cat > proton-outputs.json <<JSON
{"ComponentName": "$component", "ComponentBucket": "$bucket", "Port": "$port"}
JSON
