package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// ClientConfig says how to reach etcd.
type ClientConfig struct {
	Endpoints []string // client URLs
	CAFile    string   // PEM CA bundle verifying etcd's certificate; "" = system roots (https only)
	CertFile  string   // client certificate (PEM), with KeyFile; "" = none
	KeyFile   string
}

// dialTimeout bounds the first connection to etcd.
const dialTimeout = 5 * time.Second

// Dial returns an etcd client. Its own log (zap) is silenced: the
// coordinator reports what matters through slog.
func Dial(c ClientConfig) (*clientv3.Client, error) {
	cfg := clientv3.Config{Endpoints: c.Endpoints, DialTimeout: dialTimeout, Logger: zap.NewNop(),
		DialKeepAliveTime: 2 * time.Second, DialKeepAliveTimeout: 2 * time.Second}
	if c.CAFile != "" || c.CertFile != "" {
		t, err := tlsConfig(c)
		if err != nil {
			return nil, err
		}
		cfg.TLS = t
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd client: %w", err)
	}
	return cli, nil
}

func tlsConfig(c ClientConfig) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("etcd CA file: %w", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("etcd CA file %s: no PEM certificate", c.CAFile)
		}
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("etcd client certificate: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}
