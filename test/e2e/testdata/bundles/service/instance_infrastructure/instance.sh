#!/bin/sh
# Provisioning of a service instance of the e2e tests' service template.
# proton-inputs.json is Proton's inputs file of an instance, compact JSON with
# sorted keys: {"environment":{"account_id":..,"name":..,"outputs":{..}},
# "service":{"name":..},"service_instance":{"inputs":{..},"name":..}}.
# Prints "instance: started", works for the input "seconds" (one second at a
# time, so that SIGTERM ends it at once), meets its peers when the input
# "rendezvous" is set, exits 1 when the input "fail" is true, and otherwise
# writes proton-outputs.json from its inputs and its environment's outputs.
set -eu
inputs=$(sed -n 's/.*"service_instance":{"inputs":{\([^}]*\)}.*/\1/p' proton-inputs.json)
input() { printf '%s\n' "$inputs" | tr ',' '\n' | sed -n "s/^\"$1\":\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p"; }
service=$(sed -n 's/.*"service":{"name":"\([^"]*\)".*/\1/p' proton-inputs.json)
name=$(sed -n 's/.*"service_instance":{.*"name":"\([^"]*\)"}}$/\1/p' proton-inputs.json)
environment=$(sed -n 's/.*"environment":{[^}]*"name":"\([^"]*\)".*/\1/p' proton-inputs.json)
greeting=$(sed -n 's/.*"environment":{[^}]*"outputs":{[^}]*"Greeting":"\([^"]*\)".*/\1/p' proton-inputs.json)
trap 'echo "instance: SIGTERM, stopping"; exit 143' TERM
port=$(input port)
image=$(input image)
seconds=$(input seconds)
rendezvous=$(input rendezvous)
echo "instance: started ($service/$name in $environment, image=$image, port=$port, seconds=$seconds)"
i=0
while [ "$i" -lt "${seconds:-0}" ]; do
  sleep 1 & wait $!
  i=$((i + 1))
  echo "instance: working ${i}/${seconds}"
done
# The rendezvous is the test's, on loopback: an isolated run shares no
# directory with another run.
if [ -n "$rendezvous" ]; then
  if ! met=$(curl -fsS --max-time 35 "$rendezvous?who=$service.$name"); then
    echo "instance: no instance of another service came to $rendezvous within 30 s" >&2
    exit 1
  fi
  echo "instance: met $met"
fi
if [ "$(input fail)" = "true" ]; then
  echo "instance: refusing to deploy (fail: true)" >&2
  exit 1
fi
cat > proton-outputs.json <<JSON
{"Endpoint": "http://$name.$service.$environment:$port", "Image": "$image", "EnvGreeting": "$greeting", "ResourceArn": "$RESOURCE_ARN"}
JSON
echo "instance: done"
