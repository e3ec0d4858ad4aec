# Every run sends its deployment id (the name of its working directory) on
# one line to the test's recorder, whose host:port is the "record" input,
# through bash's /dev/tcp: the tests count runs with it, and an isolated run
# reaches a loopback port where it could not reach a file of the test's.
# Mode "hold" then works until a cancel's SIGTERM.
inputs=$(cat proton-inputs.json)
record=$(printf '%s' "$inputs" | sed -n 's/.*"record": *"\([^"]*\)".*/\1/p')
printf '%s\n' "${PWD##*/}" > "/dev/tcp/${record%:*}/${record##*:}"
case $inputs in
*'"hold"'*)
  trap 'exit 143' TERM
  while :; do
    sleep 1 & wait $!
  done
  ;;
esac
