package codebuild

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

// waitExited blocks until process pid has exited, without reaping it. While
// the exited leader of a process group is not reaped its pid stays taken, so
// signalling -pid reaches only the group we started, never a newcomer that
// reused the number.
func waitExited(pid int) {
	const pPID = 1     // idtype_t P_PID
	var info [128]byte // siginfo_t; we need only the wait itself
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info)), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		if errno != syscall.EINTR {
			return
		}
	}
}

// waitGroupGone reports whether process group pgid has no live member,
// waiting up to timeout for the members to die.
func waitGroupGone(pgid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		if !groupAlive(pgid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
	}
}

// groupAlive reports whether process group pgid has a member that is not a
// zombie. Zombies count as dead: a killed grandchild is reparented to init,
// and an init that does not reap (as in some containers) keeps it forever.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); err == syscall.ESRCH {
		return false
	}
	members, err := groupMembers(pgid)
	return err != nil || len(members) > 0 // on error kill says there are members; we cannot tell more
}

// groupMembers lists the live (not zombie) processes of group pgid.
func groupMembers(pgid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var members []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if state, group, ok := procStat(pid); ok && group == pgid && state != 'Z' {
			members = append(members, pid)
		}
	}
	return members, nil
}

// processAlive reports whether process pid exists and is not a zombie.
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		return false
	}
	state, _, ok := procStat(pid)
	return ok && state != 'Z'
}

// procStat reads a process's state letter and process group from
// /proc/<pid>/stat: "pid (comm) state ppid pgrp ...", where comm may itself
// hold spaces and parentheses.
func procStat(pid int) (state byte, pgrp int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 3 || len(fields[0]) != 1 {
		return 0, 0, false
	}
	pgrp, err = strconv.Atoi(string(fields[2]))
	if err != nil {
		return 0, 0, false
	}
	return fields[0][0], pgrp, true
}
