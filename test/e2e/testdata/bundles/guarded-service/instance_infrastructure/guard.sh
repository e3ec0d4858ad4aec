# Sourced by the deprovision phase: stops it unless the teardown is allowed.
if [ "$TEARDOWN" != "teardown-approved" ]; then
  echo "teardown of $RESOURCE_ARN refused by the guard" >&2
  exit 1
fi
echo "teardown of $RESOURCE_ARN allowed"
