// Package mailtest runs a real SMTP server (github.com/emersion/go-smtp) on a loopback port for
// tests: plain, STARTTLS or implicit TLS with a self-signed certificate whose CA file the client
// is configured to trust, optional AUTH PLAIN, and recipients it can be told to refuse. Every
// accepted message is parsed (headers, decoded plain-text and HTML parts) and handed to the
// test, which waits for it.
//
//	srv := mailtest.Start(t, mailtest.Options{TLS: config.SMTPStartTLS, Username: "u", Password: "p"})
//	cfg := srv.Config("Paygate <no-reply@example.com>") // a config.Mail pointing at it
//	...
//	msg := srv.Next(t) // the next message, or the test fails after a timeout
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"paygate.dev/pkg/config"
)

// Options configure the server.
type Options struct {
	// TLS is none (the default), starttls (STARTTLS offered and required before MAIL) or tls
	// (implicit TLS).
	TLS config.SMTPTLS
	// Username and Password, when set, are required (AUTH PLAIN) before MAIL.
	Username, Password string
	// RejectRcpt refuses recipients for which it returns true (550).
	RejectRcpt func(addr string) bool
	// OnMessage is called with each accepted message, before Next sees it.
	OnMessage func(Message)
}

// Message is one accepted message.
type Message struct {
	From     string   // envelope MAIL FROM
	To       []string // envelope RCPT TO
	AuthUser string   // the AUTH PLAIN user, empty without AUTH
	TLS      bool     // whether the session was encrypted when the message was sent
	Raw      []byte
	Header   netmail.Header
	Text     string // the decoded text/plain part
	HTML     string // the decoded text/html part, if any
	// Attachments are the parts sent as attachments (Content-Disposition), decoded, in order.
	Attachments []Attachment
}

// Attachment is a file attached to a message.
type Attachment struct {
	Name        string // the disposition's filename
	ContentType string // the part's media type, without parameters
	Data        []byte
}

// Link returns the first http(s) URL in the plain-text body.
func (m Message) Link() string { return linkRE.FindString(m.Text) }

// Attachment returns the message's one attachment; the test fails unless there is exactly one.
func (m Message) Attachment(t testing.TB) Attachment {
	t.Helper()
	if len(m.Attachments) != 1 {
		t.Fatalf("mailtest: %d attachments, want 1", len(m.Attachments))
	}
	return m.Attachments[0]
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// Server is a running SMTP server.
type Server struct {
	Host   string
	Port   int
	CAFile string // PEM of the certificate's CA (empty without TLS)

	opts   Options
	srv    *smtp.Server
	mu     sync.Mutex
	queue  []Message     // accepted, not yet taken by Next
	all    []Message     // every accepted message
	arrive chan struct{} // signalled on each arrival
}

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if o.TLS == "" {
		o.TLS = config.SMTPNoTLS
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	s := &Server{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, opts: o, arrive: make(chan struct{}, 1)}
	be := smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{s: s, conn: c}, nil })
	s.srv = smtp.NewServer(be)
	s.srv.Domain = "mailtest.localhost"
	s.srv.ReadTimeout, s.srv.WriteTimeout = 30*time.Second, 30*time.Second
	s.srv.ErrorLog = discardLog{}
	if o.TLS != config.SMTPNoTLS {
		cert, caPEM, err := certificate()
		if err != nil {
			t.Fatalf("mailtest: certificate: %v", err)
		}
		s.CAFile = filepath.Join(t.TempDir(), "mailtest-ca.pem")
		if err := os.WriteFile(s.CAFile, caPEM, 0o600); err != nil {
			t.Fatalf("mailtest: %v", err)
		}
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if o.TLS == config.SMTPImplicitTLS {
			ln = tls.NewListener(ln, s.srv.TLSConfig)
		}
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = s.srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = s.srv.Close()
		<-done
	})
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Config is a mail configuration that sends through this server, trusting its certificate
// through SMTP_CA_FILE and authenticating when the server requires it.
func (s *Server) Config(from string) config.Mail {
	return config.Mail{From: from, SMTP: config.SMTP{Host: s.Host, Port: s.Port, TLS: s.opts.TLS, CAFile: s.CAFile,
		Username: s.opts.Username, Password: s.opts.Password, Timeout: 10 * time.Second}}
}

// Next waits for the next accepted message (up to 10 seconds) and takes it.
func (s *Server) Next(t testing.TB) Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			m := s.queue[0]
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return m
		}
		s.mu.Unlock()
		select {
		case <-s.arrive:
		case <-deadline:
			t.Fatalf("mailtest: no message arrived at %s within 10s", s.Addr())
			return Message{}
		}
	}
}

// NextTo waits for the next message to addr (up to 10 seconds) and takes it; messages to
// others stay queued.
func (s *Server) NextTo(t testing.TB, addr string) Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		for i, m := range s.queue {
			for _, to := range m.To {
				if strings.EqualFold(to, addr) {
					s.queue = append(s.queue[:i:i], s.queue[i+1:]...)
					s.mu.Unlock()
					return m
				}
			}
		}
		s.mu.Unlock()
		select {
		case <-s.arrive:
		case <-deadline:
			t.Fatalf("mailtest: no message to %s arrived at %s within 10s", addr, s.Addr())
			return Message{}
		}
	}
}

// Pending returns the messages accepted and not yet taken, without waiting.
func (s *Server) Pending() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.queue...)
}

// All returns every message accepted so far.
func (s *Server) All() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.all...)
}

func (s *Server) accept(m Message) {
	s.mu.Lock()
	s.queue = append(s.queue, m)
	s.all = append(s.all, m)
	s.mu.Unlock()
	select {
	case s.arrive <- struct{}{}:
	default:
	}
}

type session struct {
	s        *Server
	conn     *smtp.Conn
	authUser string
	from     string
	to       []string
}

var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
var errTLSRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}

func (ss *session) encrypted() bool {
	_, ok := ss.conn.TLSConnectionState()
	return ok
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || ss.s.opts.Username == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.opts.Username || password != ss.s.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.authUser = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.TLS != config.SMTPNoTLS && !ss.encrypted() {
		return errTLSRequired
	}
	if ss.s.opts.Username != "" && ss.authUser == "" {
		return errAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.s.opts.RejectRcpt != nil && ss.s.opts.RejectRcpt(to) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unparsable message: " + err.Error()}
	}
	m.From, m.To, m.AuthUser, m.TLS = ss.from, append([]string(nil), ss.to...), ss.authUser, ss.encrypted()
	if ss.s.opts.OnMessage != nil {
		ss.s.opts.OnMessage(m)
	}
	ss.s.accept(m)
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// parse reads the headers and decodes the text and HTML parts.
func parse(raw []byte) (Message, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	m := Message{Raw: raw, Header: msg.Header}
	err = walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), "", msg.Body, &m)
	return m, err
}

// walk decodes one part (a multipart one part by part): the first text and HTML parts become
// the message's Text and HTML, a part with an attachment disposition one of its Attachments.
func walk(contentType, encoding, disposition string, body io.Reader, m *Message) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p.Header.Get("Content-Disposition"), p, m); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if disp, dp, err := mime.ParseMediaType(disposition); err == nil && disp == "attachment" {
		m.Attachments = append(m.Attachments, Attachment{Name: dp["filename"], ContentType: mt, Data: b})
		return nil
	}
	switch mt {
	case "text/plain":
		if m.Text == "" {
			m.Text = string(b)
		}
	case "text/html":
		if m.HTML == "" {
			m.HTML = string(b)
		}
	}
	return nil
}

// certificate makes a self-signed CA certificate valid for 127.0.0.1, ::1 and localhost,
// once per test process.
func certificate() (tls.Certificate, []byte, error) {
	c := selfSigned()
	return c.cert, c.pem, c.err
}

type generated struct {
	cert tls.Certificate
	pem  []byte
	err  error
}

var selfSigned = sync.OnceValue(func() generated {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return generated{err: err}
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailtest CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return generated{err: err}
	}
	return generated{cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
})

type discardLog struct{}

func (discardLog) Printf(string, ...any) {}
func (discardLog) Println(...any)        {}
