#!/bin/sh
# Provisioning of the e2e tests' network template. Prints "provision: started",
# then works for the input "seconds" (one second at a time, so that SIGTERM
# ends it at once) or, when the input "pid_file" is set, starts `sleep 300`
# in the background, writes "<shell pid> <sleep pid>" to pid_file and waits.
# Writes proton-outputs.json from the inputs. On SIGTERM it stops at once,
# or, when the input "cleanup_file" is set, first "cleans up" for half a
# second and then writes "cleaned up" to cleanup_file.
set -eu
value() { sed -n "s/.*\"$1\": *\"\{0,1\}\([^,\"}]*\)\"\{0,1\}.*/\1/p" proton-inputs.json; }
cleanup_file=$(value cleanup_file)
on_term() {
  echo "provision: SIGTERM, stopping"
  if [ -n "$cleanup_file" ]; then
    sleep 0.5
    echo "cleaned up" > "$cleanup_file"
  fi
  exit 143
}
trap on_term TERM
name_tag=$(value name_tag)
seconds=$(value seconds)
seconds=${seconds:-0}
pid_file=$(value pid_file)
echo "provision: started (name_tag=$name_tag, seconds=$seconds)"
if [ -n "$pid_file" ]; then
  sleep 300 &
  echo "$$ $!" > "$pid_file.tmp"
  mv "$pid_file.tmp" "$pid_file"
  wait $!
fi
i=0
while [ "$i" -lt "$seconds" ]; do
  sleep 1 & wait $!
  i=$((i + 1))
  echo "provision: working ${i}/${seconds}"
done
cat > proton-outputs.json <<JSON
{"Greeting": "hello-$name_tag", "Seconds": "$seconds", "ResourceArn": "$RESOURCE_ARN"}
JSON
echo "provision: done"
