#!/bin/sh
# Provisioning of the pipeline of the e2e tests' service template.
# proton-inputs.json is Proton's inputs file of a pipeline, compact JSON with
# sorted keys: {"pipeline":{"inputs":{..}},"service":{..},"service_instances":
# [{"environment":{..},"inputs":{..},"name":..,"outputs":{..}},..]}.
# Prints "pipeline: started", works for the input "seconds" (one second at a
# time, so that SIGTERM ends it at once), exits 1 when the input "fail" is
# true, and otherwise writes proton-outputs.json: its stages, and the names
# and Endpoint outputs of the instances it was given.
set -eu
inputs=$(sed -n 's/.*"pipeline":{"inputs":{\([^}]*\)}.*/\1/p' proton-inputs.json)
input() { printf '%s\n' "$inputs" | tr ',' '\n' | sed -n "s/^\"$1\":\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p"; }
trap 'echo "pipeline: SIGTERM, stopping"; exit 143' TERM
stages=$(input stages)
seconds=$(input seconds)
echo "pipeline: started (stages=$stages, seconds=$seconds)"
i=0
while [ "$i" -lt "${seconds:-0}" ]; do
  sleep 1 & wait $!
  i=$((i + 1))
  echo "pipeline: working ${i}/${seconds}"
done
if [ "$(input fail)" = "true" ]; then
  echo "pipeline: refusing to deploy (fail: true)" >&2
  exit 1
fi
# An instance's name follows its inputs object: `},"name":"..."`; an
# environment's follows its account_id string.
names=$(grep -o '},"name":"[^"]*"' proton-inputs.json | sed 's/.*"\([^"]*\)"$/\1/' | tr '\n' ' ' | sed 's/ $//')
count=$(grep -o '},"name":"[^"]*"' proton-inputs.json | wc -l | tr -d ' ')
endpoints=$(grep -o '"Endpoint":"[^"]*"' proton-inputs.json | sed 's/.*"\([^"]*\)"$/\1/' | tr '\n' ' ' | sed 's/ $//')
cat > proton-outputs.json <<JSON
{"Stages": "$stages", "Instances": "$count", "InstanceNames": "$names", "Endpoints": "$endpoints", "ResourceArn": "$RESOURCE_ARN"}
JSON
echo "pipeline: done"
