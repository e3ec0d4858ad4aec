# Sourced by the manifest's commands: functions for the commands after it.

# check_terraform VERSION fails unless the terraform on PATH is VERSION.x
# (on CodeBuild this is where terraform_${TF_VERSION} was downloaded).
check_terraform() {
  installed=$(terraform version -json | jq -r .terraform_version)
  case "$installed" in
    "$1" | "$1".*) echo "terraform $installed (wanted $1)" ;;
    *) echo "terraform $installed is not $1" >&2; return 1 ;;
  esac
}

# secret_digest VALUE prints the SHA-256 of VALUE, so that a secret can be
# compared without being shown.
secret_digest() {
  printf '%s' "$1" | sha256sum | cut -d' ' -f1
}
