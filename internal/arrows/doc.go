// Package arrows holds the test that pins which of Hadron's packages may
// import which (ARCHITECTURE.md draws them): the operations and the
// deployment engine know store backends and provisioning engines only through
// their interfaces, and only the commands under cmd/ choose the concrete ones.
package arrows
