#!/bin/sh
# Reads its inputs and its environment's outputs from proton-inputs.json; sleeps
# "seconds", fails when "fail" is true, writes its port and the environment's
# Name output as outputs.
input() { sed -n "s/.*\"inputs\":{[^}]*\"$1\":\([^,}]*\).*/\1/p" proton-inputs.json | tr -d '"'; }
seconds=$(input seconds)
i=0
while [ "$i" -lt "$((${seconds:-0} * 20))" ]; do sleep 0.05; i=$((i + 1)); done
if [ "$(input fail)" = "true" ]; then echo "instance refused to deploy" >&2; exit 1; fi
envname=$(sed -n 's/.*"outputs":{[^}]*"Name":"\([a-z]*\)".*/\1/p' proton-inputs.json)
bucket=$(sed -n 's/.*"components":{"default":{[^}]*"outputs":{[^}]*"Bucket":"\([a-z0-9]*\)".*/\1/p' proton-inputs.json)
printf '{"Port": "%s", "EnvName": "%s", "ComponentBucket": "%s"}' "$(input port)" "$envname" "$bucket" > proton-outputs.json
