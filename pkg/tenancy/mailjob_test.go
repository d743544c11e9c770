package tenancy_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/queue/queuetest"
	"paygate.dev/pkg/secrets"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

// flakyMailer fails temporarily while down, then takes every message.
type flakyMailer struct {
	mu   sync.Mutex
	down bool
	sent []tenancy.Message
}

func (m *flakyMailer) Send(_ context.Context, msg tenancy.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return fmt.Errorf("dial tcp: connection refused (%w)", tenancy.ErrMailTemporary)
	}
	m.sent = append(m.sent, msg)
	return nil
}

// A reset link whose mail server was unreachable is not lost: the request is answered as sent,
// and the message's job sends it once the server is back. The job holds the message sealed.
func TestMailTheServerCouldNotTakeIsSentByItsJob(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			s := storetest.Fresh(t, d) // its own email queue
			t.Cleanup(func() { _ = s.Close() })
			_, err := s.Migrate(ctx, -1)
			require.NoError(t, err)
			mk, err := secrets.ParseKey(secrets.GenerateKey())
			require.NoError(t, err)
			keys, err := secrets.NewKeyring(mk, nil)
			require.NoError(t, err)
			mailer := &flakyMailer{down: true}
			svc := tenancy.New(tenancy.Deps{Store: store.PortOf[tenancy.Store](s), Keys: keys, Log: logging.Discard(), Mailer: mailer,
				Hosts: config.Hosts{AdminBackendDomain: "api.example.com", MainBackendDomain: "webhook.example.com", MainFrontendDomain: "secure.example.com", Scheme: "https"}})
			email := "reset." + strings.ToLower(domain.RandomString(6)) + "@example.com"
			_, err = svc.CreateUser(ctx, domain.SystemActor(""), tenancy.CreateUserInput{Email: email, Password: "pw-" + domain.RandomString(16)})
			require.NoError(t, err)

			require.NoError(t, svc.RequestPasswordReset(ctx, email), "on its way: the job sends it")
			jobs, err := s.ListRiverJobs(ctx, tenancy.KindMail, 10)
			require.NoError(t, err)
			require.Len(t, jobs, 1)
			require.Equal(t, "scheduled", jobs[0].State, "it waits a minute: the first try was the request's")
			require.Equal(t, queue.Email, jobs[0].Queue)
			require.NotContains(t, jobs[0].Args, "reset-password", "the link is sealed")
			require.NotContains(t, jobs[0].Args, "Reset your password")

			ws := river.NewWorkers()
			svc.RegisterMailWorker(ws)
			r := queuetest.Stepper(t, s, map[string]int{queue.Email: 1}, ws, queuetest.Options{})
			require.Positive(t, r.Step(t), "the server still down: the job fails and will retry")
			mailer.mu.Lock()
			require.Empty(t, mailer.sent)
			mailer.down = false
			mailer.mu.Unlock()
			require.Positive(t, r.Step(t))
			mailer.mu.Lock()
			defer mailer.mu.Unlock()
			require.Len(t, mailer.sent, 1)
			require.Equal(t, email, mailer.sent[0].To)
			require.Contains(t, mailer.sent[0].Link, "https://api.example.com/reset-password?token=")

			// Sent at once, the message leaves no job behind.
			before, err := s.ListRiverJobs(ctx, tenancy.KindMail, 10)
			require.NoError(t, err)
			mailer.mu.Unlock()
			require.NoError(t, svc.RequestPasswordReset(ctx, email))
			mailer.mu.Lock()
			after, err := s.ListRiverJobs(ctx, tenancy.KindMail, 10)
			require.NoError(t, err)
			require.Len(t, after, len(before))
			require.Len(t, mailer.sent, 2)
		})
	}
}
