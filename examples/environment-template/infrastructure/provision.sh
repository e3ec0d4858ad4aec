#!/bin/sh
# Pretend to provision a network: read proton-inputs.json, work for a while,
# write proton-outputs.json. Exits promptly on SIGTERM (a cancel).
set -eu
trap 'echo "cancelled: cleaning up"; exit 143' TERM
value() { sed -n "s/.*\"$1\": *\"\{0,1\}\([^,\"}]*\)\"\{0,1\}.*/\1/p" proton-inputs.json; }
cidr=$(value vpc_cidr)
stage=$(value stage)
seconds=$(value provision_seconds)
echo "provisioning $RESOURCE_ARN: network $cidr for stage $stage (${seconds}s)"
i=0
while [ "$i" -lt "$seconds" ]; do
  sleep 1 & wait $!
  i=$((i + 1))
  echo "working... ${i}/${seconds}"
done
cat > proton-outputs.json <<JSON
{"VpcCidr": "$cidr", "Stage": "$stage", "VpcId": "vpc-$(printf '%s' "$RESOURCE_ARN$cidr" | cksum | cut -d' ' -f1)"}
JSON
echo "done"
