package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"paygate.dev/pkg/domain"
)

// Job states.
const (
	JobAvailable = "available"
	JobRunning   = "running"
	JobCompleted = "completed"
	JobFailed    = "failed"
	JobCancelled = "cancelled"
)

// CodeLeaseLost is the conflict a worker gets when it reports the result of a job whose lease
// it no longer holds (the lease expired and another worker took the job over).
const CodeLeaseLost = "JOB_LEASE_LOST"

// Job is one row of the durable job queue (package jobs builds on it).
type Job struct {
	ID             string `gorm:"primaryKey"`
	Kind           string
	UniqueKey      *string
	Payload        string
	OrganizationID *string
	State          string
	Attempt        int
	MaxAttempts    int
	RunAt          time.Time
	Deadline       *time.Time
	LockedBy       *string
	LockedUntil    *time.Time
	KickedAt       *time.Time // a kick that arrived while the job ran (see KickJob)
	LastError      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	FinishedAt     *time.Time
}

// TableName tells GORM which table holds jobs.
func (Job) TableName() string { return "jobs" }

// JobLease names one claim of a job: the worker holding it and the attempt it runs. Results are
// written only while the lease is still this one (compare-and-set).
type JobLease struct {
	ID       string
	WorkerID string
	Attempt  int
}

// Lease returns the claim a worker holds on a job it got from ClaimJobs.
func (j *Job) Lease() JobLease {
	l := JobLease{ID: j.ID, Attempt: j.Attempt}
	if j.LockedBy != nil {
		l.WorkerID = *j.LockedBy
	}
	return l
}

// EnqueueJob inserts a job. It joins the caller's transaction when called on a Store from InTx,
// so work is queued exactly when the change that needs it commits.
//
// A job whose (kind, unique key) already exists is not an error: j is overwritten with the
// existing job and inserted is false.
func (s *Store) EnqueueJob(ctx context.Context, j *Job) (inserted bool, err error) {
	now := Now()
	if j.ID == "" {
		j.ID = domain.NewID(domain.PrefixJob)
	}
	if j.Payload == "" {
		j.Payload = "{}"
	}
	if j.MaxAttempts <= 0 {
		j.MaxAttempts = 25
	}
	if j.RunAt.IsZero() {
		j.RunAt = now
	}
	j.RunAt = UTC(j.RunAt)
	j.Deadline = utcPtr(j.Deadline)
	j.State, j.Attempt, j.LockedBy, j.LockedUntil, j.KickedAt, j.FinishedAt = JobAvailable, 0, nil, nil, nil, nil
	j.CreatedAt, j.UpdatedAt = now, now
	res := s.q(ctx).Clauses(clause.OnConflict{
		Columns:     []clause.Column{{Name: "kind"}, {Name: "unique_key"}},
		TargetWhere: clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "unique_key IS NOT NULL"}}},
		DoNothing:   true,
	}).Create(j)
	if res.Error != nil {
		return false, translate(res.Error, "job")
	}
	if res.RowsAffected == 1 {
		return true, nil
	}
	if j.UniqueKey == nil {
		return false, domain.Internal(nil, "job %s was not inserted", j.ID)
	}
	existing, err := s.GetJobByUniqueKey(ctx, j.Kind, *j.UniqueKey)
	if err != nil {
		return false, err
	}
	*j = *existing
	return false, nil
}

// GetJob returns one job.
func (s *Store) GetJob(ctx context.Context, id string) (*Job, error) {
	var j Job
	if err := s.q(ctx).Where("id = ?", id).Take(&j).Error; err != nil {
		return nil, translate(err, "job")
	}
	return &j, nil
}

// GetJobByUniqueKey returns the job of a kind with a unique key.
func (s *Store) GetJobByUniqueKey(ctx context.Context, kind, key string) (*Job, error) {
	var j Job
	if err := s.q(ctx).Where("kind = ? AND unique_key = ?", kind, key).Take(&j).Error; err != nil {
		return nil, translate(err, "job")
	}
	return &j, nil
}

// ListJobs returns the jobs of one kind, oldest first (tests and operator tooling).
func (s *Store) ListJobs(ctx context.Context, kind string, limit int) ([]Job, error) {
	var out []Job
	err := s.q(ctx).Where("kind = ?", kind).Order("created_at, id").Limit(limit).Find(&out).Error
	return out, translate(err, "jobs")
}

// ClaimJobs takes up to limit jobs of the given kinds that are due at now: available jobs, and
// running jobs whose lease has expired (their worker died). Each claimed job is running, locked
// by workerID until now+lease, with its attempt counted. On PostgreSQL the candidate rows are
// locked FOR UPDATE SKIP LOCKED, so concurrent workers never claim the same job; on SQLite the
// claim runs in an IMMEDIATE transaction, one writer at a time.
func (s *Store) ClaimJobs(ctx context.Context, workerID string, kinds []string, limit int, lease time.Duration, now time.Time) ([]Job, error) {
	if limit <= 0 || len(kinds) == 0 {
		return nil, nil
	}
	now = UTC(now)
	until := UTC(now.Add(lease))
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	stmt := `UPDATE jobs SET state = 'running', locked_by = ?, locked_until = ?, kicked_at = NULL, attempt = attempt + 1, updated_at = ?
 WHERE id IN (SELECT id FROM jobs
   WHERE state IN ('available', 'running') AND run_at <= ? AND (locked_until IS NULL OR locked_until < ?) AND kind IN ?
   ORDER BY run_at, id LIMIT ?` + lock + `)
 RETURNING id`
	var out []Job
	err := s.InTx(ctx, func(tx *Store) error {
		var ids []string
		if err := tx.db.Raw(stmt, workerID, until, Now(), now, now, kinds, limit).Scan(&ids).Error; err != nil {
			return translate(err, "jobs")
		}
		if len(ids) == 0 {
			return nil
		}
		return translate(tx.db.Where("id IN ?", ids).Order("run_at, id").Find(&out).Error, "jobs")
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// finishJob writes a job's result if the lease l still holds it; CONFLICT JOB_LEASE_LOST if not.
func (s *Store) finishJob(ctx context.Context, l JobLease, set map[string]any) error {
	set["locked_by"] = nil
	set["locked_until"] = nil
	set["kicked_at"] = nil
	set["updated_at"] = Now()
	res := s.q(ctx).Model(&Job{}).
		Where("id = ? AND locked_by = ? AND attempt = ? AND state = ?", l.ID, l.WorkerID, l.Attempt, JobRunning).Updates(set)
	if res.Error != nil {
		return translate(res.Error, "job")
	}
	if res.RowsAffected == 0 {
		return domain.Conflict(CodeLeaseLost, "job %s is no longer held by %s (attempt %d)", l.ID, l.WorkerID, l.Attempt)
	}
	return nil
}

// CompleteJob marks a job done. Returns CONFLICT JOB_LEASE_LOST when the lease was lost.
func (s *Store) CompleteJob(ctx context.Context, l JobLease, now time.Time) error {
	return s.finishJob(ctx, l, map[string]any{"state": JobCompleted, "finished_at": UTC(now), "last_error": ""})
}

// RetryJob makes a job available again at runAt, keeping its error. The attempt stays counted.
// Returns CONFLICT JOB_LEASE_LOST when the lease was lost.
func (s *Store) RetryJob(ctx context.Context, l JobLease, runAt time.Time, errText string) error {
	return s.finishJob(ctx, l, map[string]any{"state": JobAvailable, "run_at": UTC(runAt), "last_error": clip(errText, 2000)})
}

// SnoozeJob makes a job available again at runAt without counting the attempt (the handler
// decided to try later; nothing failed). If the job was kicked while it ran, it is due at the
// kick's time instead when that is earlier. Returns CONFLICT JOB_LEASE_LOST when the lease was lost.
func (s *Store) SnoozeJob(ctx context.Context, l JobLease, runAt time.Time, note string) error {
	runAt = UTC(runAt)
	return s.finishJob(ctx, l, map[string]any{"state": JobAvailable,
		"run_at":  gormExpr("CASE WHEN kicked_at IS NOT NULL AND kicked_at < ? THEN kicked_at ELSE ? END", runAt, runAt),
		"attempt": gormExpr("attempt - 1"), "last_error": clip(note, 2000)})
}

// FailJob gives a job up for good. Returns CONFLICT JOB_LEASE_LOST when the lease was lost.
func (s *Store) FailJob(ctx context.Context, l JobLease, errText string, now time.Time) error {
	return s.finishJob(ctx, l, map[string]any{"state": JobFailed, "finished_at": UTC(now), "last_error": clip(errText, 2000)})
}

// KickJob moves an available job with a unique key forward to runAt if it was due later (a
// notification waiting for its predecessor runs as soon as the predecessor is done). A job that
// is running keeps the kick, so that if this run ends by snoozing (it looked before the
// predecessor was done) it is due at runAt rather than after its snooze. It reports whether an
// available job was moved.
//
// The running case is written first: a run that snoozes between the two statements is then
// available for the second, which moves it. (In the other order such a run was missed by both,
// and waited out its snooze.) A job claimed between them needs no kick: its run starts after
// the predecessor was done, so it sees that.
func (s *Store) KickJob(ctx context.Context, kind, uniqueKey string, runAt time.Time) (bool, error) {
	runAt = UTC(runAt)
	err := s.q(ctx).Model(&Job{}).Where("kind = ? AND unique_key = ? AND state = ? AND (kicked_at IS NULL OR kicked_at > ?)",
		kind, uniqueKey, JobRunning, runAt).Update("kicked_at", runAt).Error
	if err != nil {
		return false, translate(err, "job")
	}
	res := s.q(ctx).Model(&Job{}).Where("kind = ? AND unique_key = ? AND state = ? AND run_at > ?", kind, uniqueKey, JobAvailable, runAt).
		Updates(map[string]any{"run_at": runAt, "updated_at": Now()})
	return res.RowsAffected > 0, translate(res.Error, "job")
}

// NextJobRunAt returns when the earliest available job of the given kinds is due, or
// NOT_FOUND when none is waiting.
func (s *Store) NextJobRunAt(ctx context.Context, kinds []string) (time.Time, error) {
	var j Job
	err := s.q(ctx).Select("id, run_at").Where("state = ? AND kind IN ?", JobAvailable, kinds).Order("run_at").Take(&j).Error
	if err != nil {
		return time.Time{}, translate(err, "job")
	}
	return j.RunAt, nil
}

// JobStateCount is how many jobs of a kind are in a state.
type JobStateCount struct {
	Kind  string
	State string
	N     int64
}

// CountJobs counts unfinished jobs by kind and state: "ready" (available and due at now),
// "scheduled" (available, due later) and "running".
func (s *Store) CountJobs(ctx context.Context, now time.Time) ([]JobStateCount, error) {
	now = UTC(now)
	var out []JobStateCount
	err := s.q(ctx).Raw(`SELECT kind, st AS state, COUNT(*) AS n FROM (
   SELECT kind, CASE WHEN state = 'running' THEN 'running' WHEN run_at <= ? THEN 'ready' ELSE 'scheduled' END AS st
   FROM jobs WHERE state IN ('available', 'running')) q
 GROUP BY kind, st ORDER BY kind, st`, now).Scan(&out).Error
	return out, translate(err, "jobs")
}

// OldestReadyJob returns when the longest-waiting due job became due, or NOT_FOUND.
func (s *Store) OldestReadyJob(ctx context.Context, now time.Time) (time.Time, error) {
	var j Job
	err := s.q(ctx).Select("id, run_at").Where("state = ? AND run_at <= ?", JobAvailable, UTC(now)).Order("run_at").Take(&j).Error
	if err != nil {
		return time.Time{}, translate(err, "job")
	}
	return j.RunAt, nil
}

// PruneJobs deletes completed jobs finished before completedBefore and failed or cancelled
// ones finished before failedBefore. It returns how many rows went.
func (s *Store) PruneJobs(ctx context.Context, completedBefore, failedBefore time.Time) (int64, error) {
	res := s.q(ctx).Where("(state = ? AND finished_at < ?) OR (state IN ? AND finished_at < ?)",
		JobCompleted, UTC(completedBefore), []string{JobFailed, JobCancelled}, UTC(failedBefore)).Delete(&Job{})
	return res.RowsAffected, translate(res.Error, "jobs")
}

// clip shortens s to at most n bytes without splitting a UTF-8 character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
