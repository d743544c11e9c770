package stripemock

import "time"

func timeUnix(ts int64) time.Time { return time.Unix(ts, 0) }
