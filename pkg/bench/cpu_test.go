package bench

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// machineCPU is the CPU time all processes have used since boot (Linux /proc/stat: user,
// nice, system, irq, softirq and steal, in USER_HZ ticks of 10 ms). Zero where unreadable.
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // skip idle (4), iowait (5) and guest (9, 10: counted in user)
		if i < len(f) {
			n, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// processCPU is the CPU time this process has used (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// µs renders a CPU time per operation in microseconds.
func µs(total time.Duration, ops int) float64 {
	if ops == 0 {
		return 0
	}
	return float64(total.Microseconds()) / float64(ops)
}
