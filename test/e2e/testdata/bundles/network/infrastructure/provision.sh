#!/bin/sh
# Provisioning of the e2e tests' network template. Prints "provision: started",
# then works for the input "seconds" (one second at a time, so that SIGTERM
# ends it at once) or, when the input "sleep_tag" is set, starts
# `sleep 300.<sleep_tag>` in the background, prints "provision: sleeping" and
# waits. Writes proton-outputs.json from the inputs. On SIGTERM it stops at
# once, or, when the input "cleanup" is true, first "cleans up" for half a
# second and then prints "provision: cleaned up"; when the input "stubborn"
# is true it prints "provision: SIGTERM, ignoring it" and goes on (with
# "sleep_tag": starts the sleep again, forever). It writes nothing outside
# its working directory: the run is isolated, and the test reads its log.
set -eu
value() { sed -n "s/.*\"$1\": *\"\{0,1\}\([^,\"}]*\)\"\{0,1\}.*/\1/p" proton-inputs.json; }
cleanup=$(value cleanup)
stubborn=$(value stubborn)
on_term() {
  if [ "$stubborn" = "true" ]; then
    echo "provision: SIGTERM, ignoring it"
    return
  fi
  echo "provision: SIGTERM, stopping"
  if [ "$cleanup" = "true" ]; then
    sleep 0.5
    echo "provision: cleaned up"
  fi
  exit 143
}
trap on_term TERM
name_tag=$(value name_tag)
seconds=$(value seconds)
seconds=${seconds:-0}
sleep_tag=$(value sleep_tag)
echo "provision: started (name_tag=$name_tag, seconds=$seconds)"
if [ -n "$sleep_tag" ]; then
  sleep "300.$sleep_tag" &
  echo "provision: sleeping"
  wait $! || [ "$stubborn" = "true" ]
  while [ "$stubborn" = "true" ]; do
    sleep "300.$sleep_tag" &
    wait $! || true
  done
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
