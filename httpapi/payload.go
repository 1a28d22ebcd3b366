package httpapi

import (
	"net/http"
	"strings"

	"github.com/karajo/karajo/actors"
	"github.com/karajo/karajo/config"
)

// keepsBody reports whether a webhook of job must keep its body for the
// run: pass_payload other than "none", or payload_env.
func keepsBody(job *config.Job) bool {
	return job.PassPayload != "" && job.PassPayload != config.PayloadNone || len(job.PayloadEnv) > 0
}

// webhookPayload returns what the run triggered by a verified webhook is
// given (issue 12): the kept body and the pass_headers present in h; nil
// when the job takes nothing. The payload then owns body when it holds
// it (the job closes it); the caller closes body otherwise.
func webhookPayload(job *config.Job, h http.Header, body *verifiedBody) *actors.Payload {
	if !keepsBody(job) && len(job.PassHeaders) == 0 {
		return nil
	}
	p := &actors.Payload{}
	if keepsBody(job) && body != nil {
		p.Body = body
	}
	for _, name := range job.PassHeaders {
		if vs := h.Values(name); len(vs) > 0 {
			p.Headers = append(p.Headers, [2]string{name, strings.Join(vs, ", ")})
		}
	}
	return p
}
