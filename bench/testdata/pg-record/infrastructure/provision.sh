# Sourced by the manifest's provision command, builtins only (no fork): it
# appends its deployment id (its working directory's name) to the file named
# by the "record" input, and exits. The benchmark watches that file to see
# each command start, whichever node runs it.
IFS= read -r inputs < proton-inputs.json || true
record=${inputs#*\"record\":}
record=${record#*\"}
record=${record%%\"*}
echo "${PWD##*/}" >> "$record"
