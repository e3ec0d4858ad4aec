// Package hadrontest holds what the tests of a whole Hadron share (the
// server's tests, the end-to-end suite, the multi-node suite and the
// benchmarks): building and starting the real hadron binary, a client that
// speaks the Proton API (AWS JSON 1.0, signed with SigV4 when given keys),
// bundle tarballs written into a bundle directory, and one way to wait for
// a status with a deadline instead of sleeping.
//
// It does not start a server in the test process: that needs the store
// backends and engines, which only cmd/ and the tests that build a server
// themselves wire (see internal/arrows).
package hadrontest
