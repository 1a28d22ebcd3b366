package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/karajo/karajo/actors"
	"github.com/karajo/karajo/actors/cluster"
	"github.com/karajo/karajo/config"
)

// joinCluster starts joining the cluster of env's [cluster] table in the
// background (the jobs load meanwhile: serve waits for the outcome before
// it answers). Without the table it returns nil and nothing of etcd runs.
func joinCluster(env *config.Env, log *slog.Logger) (*cluster.Joining, error) {
	c := env.Cluster
	if c == nil {
		return nil, nil
	}
	cli, err := cluster.Dial(cluster.ClientConfig{Endpoints: c.Etcd, CAFile: c.EtcdCAFile, CertFile: c.EtcdCertFile, KeyFile: c.EtcdKeyFile})
	if err != nil {
		return nil, err
	}
	set := jobSet(env)
	return cluster.Join(context.Background(), cli, cluster.Options{Cluster: c.Name, Node: c.Node, Advertise: c.Advertise,
		TTL: c.TTL, Shards: c.Shards, JobSet: set, Log: log}), nil
}

// joined waits for the join that joinCluster started.
func joined(env *config.Env, j *cluster.Joining, log *slog.Logger) error {
	c := env.Cluster
	if _, err := j.Wait(); err != nil {
		return fmt.Errorf("join cluster %s as node %s: %w", c.Name, c.Node, err)
	}
	log.Info("cluster: joined", "cluster", c.Name, "node", c.Node, "etcd", c.Etcd, "shards", c.Shards, "ttl", c.TTL)
	return nil
}

// jobSet hashes every job's settings, keyed by the cluster secret (a
// secret in a job's settings is not exposed by its hash). A job's file
// and its environment (inherit_env differs between hosts) are left out.
func jobSet(env *config.Env) cluster.JobSet {
	set := make(cluster.JobSet, len(env.Jobs)+len(env.JobHTTPs))
	sum := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			b = []byte(err.Error()) // cannot happen for plain settings; still a stable value
		}
		m := hmac.New(sha256.New, []byte(env.Cluster.Secret))
		m.Write(b)
		return hex.EncodeToString(m.Sum(nil))
	}
	for _, j := range env.Jobs {
		c := *j
		c.File, c.Environ = "", nil
		set["job/"+j.ID] = sum(c)
	}
	for _, j := range env.JobHTTPs {
		c := *j
		c.File, c.Environ = "", nil
		set["job_http/"+j.ID] = sum(c)
	}
	return set
}

// leaveCluster revokes this node's session once its jobs have stopped,
// so that the other nodes take its shards over at once. ran says whether
// the engine started (and ran the coordinator).
func leaveCluster(j *cluster.Joining, ran bool, log *slog.Logger) {
	if err := j.Close(ran); err != nil {
		log.Warn("cluster: leave", "err", err)
		return
	}
	log.Info("cluster: left")
}

// clusterJobsChanged names how a reload would change the jobs of a
// cluster node; "" when it would not, or on a single host.
func clusterJobsChanged(cur, next *config.Env) string {
	if cur.Cluster == nil {
		return ""
	}
	was := jobSet(cur)
	nc := *next
	nc.Cluster = cur.Cluster // hashed with the same key
	return jobSet(&nc).Diff(was, "this node before the reload")
}

// stopEngine stops the jobs of a node that could not join the cluster
// (none ran: a run's start waits for the join).
func stopEngine(engine *actors.Engine, env *config.Env, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), env.ShutdownTimeout)
	defer cancel()
	if err := engine.Shutdown(ctx); err != nil {
		log.Warn("stop jobs", "err", err)
	}
}
