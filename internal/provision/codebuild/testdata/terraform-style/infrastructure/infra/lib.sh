# Sourced by the manifest: a variable and a function for the later commands.
PLAN_PREFIX="plan for"
describe_plan() {
  echo "$PLAN_PREFIX $TF_VAR_environment in $(basename "$PWD")"
}
