package auth

import (
	"math"
	"sync"
	"time"
)

// Bucket is a token bucket: it holds up to Burst tokens, gains Rate tokens a
// second, and each request takes one. The zero Bucket is not usable; make
// one with NewBucket.
type Bucket struct {
	rate, burst float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// NewBucket returns a full bucket.
func NewBucket(rate float64, burst int, now time.Time) *Bucket {
	b := float64(max(burst, 1))
	return &Bucket{rate: rate, burst: b, tokens: b, last: now}
}

// Take takes a token if there is one; otherwise it reports how long until
// there will be.
func (b *Bucket) Take(now time.Time) (ok bool, wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(b.burst, b.tokens+elapsed.Seconds()*b.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// throttle holds one bucket per access key.
type throttle struct {
	rate  float64
	burst int

	mu      sync.Mutex
	buckets map[string]*Bucket
}

// take takes a token of key's bucket.
func (t *throttle) take(key string, now time.Time) (bool, time.Duration) {
	t.mu.Lock()
	b, ok := t.buckets[key]
	if !ok {
		if t.buckets == nil {
			t.buckets = map[string]*Bucket{}
		}
		b = NewBucket(t.rate, t.burst, now)
		t.buckets[key] = b
	}
	t.mu.Unlock()
	return b.Take(now)
}
