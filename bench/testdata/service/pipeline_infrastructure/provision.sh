# Sourced by the manifest's provision command. proton-inputs.json is one
# line of JSON; the pipeline's inputs are in it as "pipeline_mode":"...".
# quick: ends at once (builtins only).
# hold: traps SIGTERM, starts a long sleep in the background, creates the
#   file "ready" in the working directory once the sleep runs, then waits
#   until a cancel's SIGTERM ends it (143).
# timed: sleeps pipeline_work seconds (none for "0") and reports, as outputs,
#   its shell's pid and the wall clock (ns since the epoch, date +%s%N) at its
#   first and last statement: the command's own run time.
IFS= read -r inputs < proton-inputs.json || true
case $inputs in
*'"pipeline_mode":"hold"'*)
  # "ready" waits until the background sleep has exec'd (its /proc comm
  # says sleep): from then on a SIGTERM to the group surely ends the sleep,
  # so the wait returns and the trap runs. dash defers a trap while it
  # waits for a child, and a child that is still a forked dash (trap
  # inherited, not yet reset) loses the signal: "sleep 1 & wait $!" after
  # "ready" cost some cancels 1 s, a "sleep 3600" the whole 5 s grace.
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
*'"pipeline_mode":"timed"'*)
  started=$(date +%s%N)
  work=${inputs#*'"pipeline_work":"'}
  work=${work%%'"'*}
  [ "$work" = 0 ] || sleep "$work"
  printf '{"Pid":"%s","Started":"%s","Ended":"%s"}' "$$" "$started" "$(date +%s%N)" > proton-outputs.json
  ;;
esac
