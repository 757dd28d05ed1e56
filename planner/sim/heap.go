package sim

// minHeap is a binary min-heap of T ordered by less. It is hand-written (rather than
// container/heap) because the event loop pushes and pops millions of small values and the
// interface boxing of container/heap costs a large share of a run.
type minHeap[T any] struct {
	items []T
	less  func(a, b T) bool
}

func (h *minHeap[T]) len() int { return len(h.items) }

func (h *minHeap[T]) peek() T { return h.items[0] }

func (h *minHeap[T]) push(v T) {
	h.items = append(h.items, v)
	i := len(h.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(h.items[i], h.items[p]) {
			break
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}

func (h *minHeap[T]) pop() T {
	top := h.items[0]
	last := len(h.items) - 1
	h.items[0] = h.items[last]
	h.items = h.items[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && h.less(h.items[l], h.items[m]) {
			m = l
		}
		if r < last && h.less(h.items[r], h.items[m]) {
			m = r
		}
		if m == i {
			return top
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
}

// event is something scheduled to happen to one engine at time t. ver lets an engine invalidate
// its earlier events (a decode finish time moves whenever the batch changes) without removing them
// from the heap: a popped event whose ver differs from the engine's current one is ignored.
type event struct {
	t    float64
	seq  uint64 // insertion order: ties at equal t resolve deterministically
	eng  int32
	kind eventKind
	ver  uint32
}

type eventKind uint8

const (
	evPrefillDone eventKind = iota
	evDecodeFinish
	evReady
)

func eventLess(a, b event) bool {
	if a.t != b.t {
		return a.t < b.t
	}
	return a.seq < b.seq
}

// finishing is one request in a decode batch, keyed by the engine iteration it finishes at.
type finishing struct {
	iter float64
	req  int32
}

func finishingLess(a, b finishing) bool {
	if a.iter != b.iter {
		return a.iter < b.iter
	}
	return a.req < b.req
}
