#!/bin/sh
# Prints "tick N" once a second for the input "seconds", then fails when
# the input "fail" is true. On SIGTERM it
# announces a clean-up that outlasts the server's cancel grace, so that a
# cancelled deployment stays CANCELLING for the grace (the browser sees it)
# before the server kills it and ends it CANCELLED.
set -eu
seconds=$(sed -n 's/.*"seconds": *\([0-9]*\).*/\1/p' proton-inputs.json)
seconds=${seconds:-0}
on_term() {
  echo "tick: SIGTERM, cleaning up"
  sleep 60 & wait $!
}
trap on_term TERM
i=0
while [ "$i" -lt "$seconds" ]; do
  echo "tick $i"
  sleep 1 & wait $!
  i=$((i + 1))
done
if grep -q '"fail": *true' proton-inputs.json; then
  echo "tick: failing, as the input fail asks"
  exit 1
fi
echo '{"Ticks": "'"$seconds"'"}' > proton-outputs.json
echo "tick: done"
