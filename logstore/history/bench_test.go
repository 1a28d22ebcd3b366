package history

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// BenchmarkWriteBatched is the cost of one record when records are written
// in batches of 50 (what the recorder does at a few hundred runs per
// second): one transaction and one flush per batch.
func BenchmarkWriteBatched(b *testing.B) {
	s, _ := openTemp(b)
	const batch = 50
	puts := make([]Put, batch)
	c := int64(0)
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		for k := range puts {
			c++
			puts[k] = run(fmt.Sprintf("job%d", c%10), c, "success", t0, 1)
		}
		if err := s.Write(puts); err != nil {
			b.Fatal(err)
		}
	}
}

var (
	bigOnce sync.Once
	bigPath string
)

// bigStore fills (once per process) a store with 1,000,000 records: 10
// jobs of 100,000 runs each.
func bigStore(b *testing.B) string {
	bigOnce.Do(func() {
		dir, err := mkdirTemp()
		if err != nil {
			b.Fatal(err)
		}
		bigPath = filepath.Join(dir, FileName)
		s, _, err := Open(bigPath)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		puts := make([]Put, 0, 10000)
		for j := 0; j < 10; j++ {
			for c := int64(1); c <= 100_000; c++ {
				p := run(fmt.Sprintf("job%d", j), c, "success", t0.Add(time.Duration(c)*time.Second), 1)
				p.Keep = MaxRetention
				puts = append(puts, p)
				if len(puts) == cap(puts) {
					if err := s.Write(puts); err != nil {
						b.Fatal(err)
					}
					puts = puts[:0]
				}
			}
		}
	})
	return bigPath
}

// BenchmarkQuery100Of1M is a runs query of 100 records (decoded) in a
// store of 1,000,000 records.
func BenchmarkQuery100Of1M(b *testing.B) {
	path := bigStore(b)
	s, _, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rs, err := s.Runs(Query{Kind: "job", Job: "job3", Before: int64(100_000 - i%1000), Limit: 100})
		if err != nil || len(rs) != 100 {
			b.Fatalf("%d records, %v", len(rs), err)
		}
	}
}

// BenchmarkOpen1M opens a store of 1,000,000 records.
func BenchmarkOpen1M(b *testing.B) {
	path := bigStore(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, _, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
