# Sourced by the manifest's provision command (no fork: builtins only).
# mode "quick" ends at once. mode "hold" traps SIGTERM, creates the file
# "ready" in the working directory once the trap is in place and its sleep
# runs, and then works until a cancel's SIGTERM ends it with status 143.
IFS= read -r inputs < proton-inputs.json || true
case $inputs in
*'"mode":"hold"'*)
  # "ready" only once the background sleep has exec'd (its /proc comm says
  # sleep): a SIGTERM to the group then surely ends it, so the wait returns
  # and the trap runs. A child still a forked dash would lose the signal.
  trap 'exit 143' TERM
  sleep 3600 &
  comm=
  while [ "$comm" != sleep ]; do
    IFS= read -r comm < /proc/$!/comm || comm=
  done
  : > ready
  while :; do
    wait $!
    sleep 3600 &
  done
  ;;
esac
