// Build (Debian bookworm: apt-get install golang-go golang-etcd-server-dev):
//   mkdir -p /tmp/eb/src/ebench && cp tools/etcd-raft-bench/main.go /tmp/eb/src/ebench/
//   cd /tmp/eb && GO111MODULE=off GOPATH=/tmp/eb:/usr/share/gocode go build -o ebench ebench
//   ./ebench 200000
//
// A mirror of TinyKV-C's cmd/bench-raft for etcd's raft (RawNode, memory
// storage, direct in-process delivery, one goroutine), to compare the cores.
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	"go.etcd.io/etcd/raft"
	pb "go.etcd.io/etcd/raft/raftpb"
)

type bnode struct {
	rn      *raft.RawNode
	st      *raft.MemoryStorage
	applied uint64
}

func run(n int, batch int, total int) {
	peers := []raft.Peer{}
	for i := 1; i <= n; i++ {
		peers = append(peers, raft.Peer{ID: uint64(i)})
	}
	nodes := make([]*bnode, n+1)
	for i := 1; i <= n; i++ {
		st := raft.NewMemoryStorage()
		cfg := &raft.Config{ID: uint64(i), ElectionTick: 10, HeartbeatTick: 1, Storage: st,
			MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 1 << 20, Logger: discard{}}
		rn, err := raft.NewRawNode(cfg)
		if err != nil {
			panic(err)
		}
		if err := rn.Bootstrap(peers); err != nil {
			panic(err)
		}
		nodes[i] = &bnode{rn: rn, st: st}
	}
	start := make(map[uint64]time.Time)
	lats := make([]time.Duration, 0, total)
	var q []pb.Message
	pump := func() {
		for {
			for i := 1; i <= n; i++ {
				b := nodes[i]
				for b.rn.HasReady() {
					rd := b.rn.Ready()
					if !raft.IsEmptyHardState(rd.HardState) {
						b.st.SetHardState(rd.HardState)
					}
					b.st.Append(rd.Entries)
					q = append(q, rd.Messages...)
					now := time.Now()
					for _, e := range rd.CommittedEntries {
						b.applied = e.Index
						if e.Type == pb.EntryConfChange {
							var cc pb.ConfChange
							cc.Unmarshal(e.Data)
							b.rn.ApplyConfChange(cc)
						}
						if i == 1 && len(e.Data) > 0 {
							if t, ok := start[e.Index]; ok {
								lats = append(lats, now.Sub(t))
								delete(start, e.Index)
							}
						}
					}
					b.rn.Advance(rd)
				}
			}
			if len(q) == 0 {
				return
			}
			cur := q
			q = nil
			for _, m := range cur {
				nodes[m.To].rn.Step(m)
			}
		}
	}
	pump()
	nodes[1].rn.Campaign()
	pump()
	payload := make([]byte, 64)
	proposed := 0
	// every accepted proposal takes the next index after the leader's last
	next := nodes[1].rn.Status().Progress[1].Match + 1
	t0 := time.Now()
	for len(lats) < total {
		for i := 0; i < batch && proposed < total; i++ {
			if err := nodes[1].rn.Propose(payload); err != nil {
				break
			}
			start[next] = time.Now()
			next++
			proposed++
		}
		pump()
		if proposed%8192 < batch {
			for i := 1; i <= n; i++ {
				b := nodes[i]
				b.st.CreateSnapshot(b.applied, nil, nil)
				b.st.Compact(b.applied)
			}
		}
	}
	secs := time.Since(t0).Seconds()
	sort.Slice(lats, func(a, b int) bool { return lats[a] < lats[b] })
	fmt.Printf("etcd-raft nodes=%d batch=%d metric=proposals_per_sec value=%.0f\n", n, batch, float64(len(lats))/secs)
	fmt.Printf("etcd-raft nodes=%d batch=%d metric=commit_latency_p50_us value=%.1f\n", n, batch, float64(lats[len(lats)/2].Nanoseconds())/1e3)
	fmt.Printf("etcd-raft nodes=%d batch=%d metric=commit_latency_p99_us value=%.1f\n", n, batch, float64(lats[len(lats)*99/100].Nanoseconds())/1e3)
}


type discard struct{}

func (discard) Debug(v ...interface{})                   {}
func (discard) Debugf(format string, v ...interface{})   {}
func (discard) Error(v ...interface{})                   {}
func (discard) Errorf(format string, v ...interface{})   {}
func (discard) Info(v ...interface{})                    {}
func (discard) Infof(format string, v ...interface{})    {}
func (discard) Warning(v ...interface{})                 {}
func (discard) Warningf(format string, v ...interface{}) {}
func (discard) Fatal(v ...interface{})                   { panic(fmt.Sprint(v...)) }
func (discard) Fatalf(format string, v ...interface{})   { panic(fmt.Sprintf(format, v...)) }
func (discard) Panic(v ...interface{})                   { panic(fmt.Sprint(v...)) }
func (discard) Panicf(format string, v ...interface{})   { panic(fmt.Sprintf(format, v...)) }

func main() {
	total := 200000
	if len(os.Args) > 1 {
		total, _ = strconv.Atoi(os.Args[1])
	}
	for _, n := range []int{3, 5} {
		for _, b := range []int{1, 64} {
			run(n, b, total)
		}
	}
}
