# Sourced by the manifest's provision command (no fork: builtins only).
# mode "quick" ends at once. mode "hold" traps SIGTERM, creates the file
# "ready" in the working directory once the trap is in place, and then works
# until a cancel's SIGTERM ends it with status 143.
IFS= read -r inputs < proton-inputs.json || true
case $inputs in
*'"mode":"hold"'*)
  trap 'exit 143' TERM
  : > ready
  while :; do
    sleep 1 & wait $!
  done
  ;;
esac
