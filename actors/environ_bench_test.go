package actors

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// BenchmarkTriggerToStartEnv measures what the environment features add
// between a trigger and the fork: two jobs of one engine are triggered in
// turn, "plain" (no env keys, as v0.9.3) and "env" (20 variables, 3 of
// them secret so that its log masks, pass_headers, payload_env and
// pass_payload = "env" with a 2 KiB JSON body), each first in every other
// round. It reports both times and their ratio (env / plain), measured in
// the same rounds.
func BenchmarkTriggerToStartEnv(b *testing.B) {
	hit := make(chan time.Time, 1)
	startHook = func() { hit <- time.Now() }
	defer func() { startHook = nil }()
	plain := &config.Job{ID: "plain", Name: "plain", Path: "/plain", Commands: []string{"true"}, LogRetention: 2}
	withEnv := &config.Job{ID: "env", Name: "env", Path: "/env", Commands: []string{"true"}, LogRetention: 2,
		PassPayload: config.PayloadEnv, PassHeaders: []string{"X-Github-Event"},
		PayloadEnv: []config.PayloadVar{{Name: "REF", Path: []string{"ref"}}, {Name: "REPO", Path: []string{"repository", "full_name"}}}}
	for i := range 20 {
		withEnv.Environ = append(withEnv.Environ, config.Var{Name: fmt.Sprintf("VAR_%02d", i), Value: fmt.Sprintf("value-%02d-abcdefghij", i), Secret: i < 3})
	}
	body := []byte(`{"ref":"refs/heads/main","repository":{"full_name":"o/r"},"pad":"` + string(bytes.Repeat([]byte("x"), 2000)) + `"}`)
	e := benchEngineWith(b, plain, withEnv)
	sub := e.Subscribe(64)
	b.Cleanup(sub.Close)
	wait := func(id string, counter int64) {
		for {
			select {
			case ev := <-sub.C:
				if v := ev.Job; v != nil && v.ID == id && !v.Running && !v.Waiting && len(v.Logs) > 0 && v.Logs[len(v.Logs)-1].Counter == counter {
					return
				}
			case <-time.After(10 * time.Second):
				b.Fatalf("run %d of %s did not finish", counter, id)
			}
		}
	}
	run := func(id string, counter int64, p *Payload) time.Duration {
		pid, _ := e.Job(id)
		t0 := time.Now()
		if _, err := Ask[*JobView](e.Root(), pid, &Trigger{Reason: "webhook", Payload: p}, 10*time.Second); err != nil {
			b.Fatal(err)
		}
		took := (<-hit).Sub(t0)
		wait(id, counter)
		return took
	}
	var tPlain, tEnv time.Duration
	b.ResetTimer()
	for i := range b.N {
		p := &Payload{Body: &memBody{body}, Headers: [][2]string{{"X-Github-Event", "push"}}}
		if i%2 == 0 { // each goes first half of the time: the one after sees the other's log flushed
			tPlain += run("plain", int64(i+1), nil)
			tEnv += run("env", int64(i+1), p)
		} else {
			tEnv += run("env", int64(i+1), p)
			tPlain += run("plain", int64(i+1), nil)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(tPlain.Nanoseconds())/float64(b.N), "ns/trigger-plain")
	b.ReportMetric(float64(tEnv.Nanoseconds())/float64(b.N), "ns/trigger-env")
	b.ReportMetric(float64(tEnv)/float64(tPlain), "ratio")
}

// BenchmarkRunEnvCPU measures the CPU the environment features add to
// one run before its first fork, without the engine: building the
// environment of a job with 20 variables, the payload variables of a
// 2 KiB JSON body (pass_payload = "env", payload_env, pass_headers) and
// the masker of its 3 secrets; "plain" builds the environment of a job
// without env keys, as every run does.
func BenchmarkRunEnvCPU(b *testing.B) {
	plain := &config.Job{ID: "plain", Name: "plain"}
	withEnv := &config.Job{ID: "env", Name: "env", PassPayload: config.PayloadEnv,
		PayloadEnv: []config.PayloadVar{{Name: "REF", Path: []string{"ref"}}, {Name: "REPO", Path: []string{"repository", "full_name"}}}}
	for i := range 20 {
		withEnv.Environ = append(withEnv.Environ, config.Var{Name: fmt.Sprintf("VAR_%02d", i), Value: fmt.Sprintf("value-%02d-abcdefghij", i), Secret: i < 3})
	}
	body := []byte(`{"ref":"refs/heads/main","repository":{"full_name":"o/r"},"pad":"` + string(bytes.Repeat([]byte("x"), 2000)) + `"}`)
	b.Run("plain", func(b *testing.B) {
		for b.Loop() {
			_ = environ(plain, runFacts{counter: 1, home: "/w"})
		}
	})
	b.Run("env", func(b *testing.B) {
		for b.Loop() {
			env := environ(withEnv, runFacts{counter: 1, home: "/w"})
			vars, _, err := payloadVars(withEnv, &Payload{Body: &memBody{body}, Headers: [][2]string{{"X-Github-Event", "push"}}})
			if err != nil {
				b.Fatal(err)
			}
			_ = overlay(env, vars)
			_ = logstore.MaskString("", config.Secrets(withEnv.Environ))
		}
	})
}

// BenchmarkOutputMask measures masking end to end: a command printing
// 200 MB of 80-byte lines (yes | head) runs in a job without secrets and
// in one with 3 secrets (so its log masks), in turn, each first in every
// other round. It reports both run times and their ratio (secrets /
// none): the cost of masking on log throughput, pipe and command
// included.
func BenchmarkOutputMask(b *testing.B) {
	const cmd = "yes 'karajo output line: 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTU' | head -c 200000000"
	plain := &config.Job{ID: "plain", Name: "plain", Path: "/plain", Commands: []string{cmd}, LogRetention: 1}
	masked := &config.Job{ID: "masked", Name: "masked", Path: "/masked", Commands: []string{cmd}, LogRetention: 1}
	for i := range 3 {
		masked.Environ = append(masked.Environ, config.Var{Name: fmt.Sprintf("SECRET_%d", i), Value: fmt.Sprintf("s3cr3t-%d-k9v7q2x8w4z1", i), Secret: true})
	}
	e := benchEngineWith(b, plain, masked)
	sub := e.Subscribe(64)
	b.Cleanup(sub.Close)
	run := func(id string, counter int64) time.Duration {
		pid, _ := e.Job(id)
		t0 := time.Now()
		if _, err := Ask[*JobView](e.Root(), pid, &Trigger{}, 10*time.Second); err != nil {
			b.Fatal(err)
		}
		for {
			select {
			case ev := <-sub.C:
				if v := ev.Job; v != nil && v.ID == id && !v.Running && !v.Waiting && len(v.Logs) > 0 && v.Logs[len(v.Logs)-1].Counter == counter {
					if st := v.Logs[len(v.Logs)-1].Status; st != StatusSuccess {
						b.Fatalf("%s #%d: %s", id, counter, st)
					}
					return time.Since(t0)
				}
			case <-time.After(5 * time.Minute):
				b.Fatalf("run %d of %s did not finish", counter, id)
			}
		}
	}
	var tPlain, tMasked time.Duration
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			tPlain += run("plain", int64(i+1))
			tMasked += run("masked", int64(i+1))
		} else {
			tMasked += run("masked", int64(i+1))
			tPlain += run("plain", int64(i+1))
		}
	}
	b.StopTimer()
	b.ReportMetric(200e6*float64(b.N)/tPlain.Seconds()/1e6, "MB/s-plain")
	b.ReportMetric(200e6*float64(b.N)/tMasked.Seconds()/1e6, "MB/s-masked")
	b.ReportMetric(float64(tMasked)/float64(tPlain), "ratio")
}
