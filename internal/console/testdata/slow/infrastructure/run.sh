#!/bin/sh
# Inputs: name, seconds, ignore_term. Prints "tick N" each second while it
# runs, so that a log grows.
grep -q '"ignore_term":true' proton-inputs.json && trap '' TERM
seconds=$(sed -n 's/.*"seconds":\([0-9]*\).*/\1/p' proton-inputs.json)
name=$(sed -n 's/.*"inputs":{[^}]*"name":"\([a-z]*\)".*/\1/p' proton-inputs.json)
i=0
while [ "$i" -lt "$((seconds * 20))" ]; do
  [ $((i % 20)) -eq 0 ] && echo "tick $((i / 20))"
  sleep 0.05
  i=$((i + 1))
done
printf '{"Name": "%s", "Seconds": "%s"}' "$name" "$seconds" > proton-outputs.json
