package sim

import "github.com/tidal-planner/tidal/policies"

// replicaState is where a replica is in its life.
type replicaState uint8

const (
	stateStarting replicaState = iota // requested, costs GPUs, serves nothing yet
	stateReady                        // serving new work
	stateDraining                     // finishing its in-flight work, gets none new
	stateGone                         // released; costs nothing
)

// engine is one replica: a prefill engine, a decode engine or an aggregated engine (both halves;
// a running prefill batch pauses decode, as in an engine without chunked prefill).
type engine struct {
	svc   int
	role  policies.Role
	state replicaState

	// prefill half: FIFO queue and the batch in progress
	pq       []int32
	pqHead   int
	pqTokens float64
	busy     bool
	batch    []int32
	batchTok float64

	// decode half: KV-admission queue and the running batch, advanced in closed form
	waiting  []int32
	wHead    int
	waitTok  float64
	active   minHeap[finishing]
	iter     float64 // iterations run so far (fractional between events)
	lastT    float64 // time iter was last advanced to
	itl      float64 // seconds per iteration of the current batch
	sumIn    float64 // input tokens of the batch
	sumAdmit float64 // sum of the iterations at which the batch's requests were admitted
	reserved float64 // KV tokens reserved (input + output of every admitted request)
	paused   bool
	ver      uint32
}

func newEngine(svc int, role policies.Role, state replicaState, t float64) *engine {
	return &engine{svc: svc, role: role, state: state, lastT: t,
		active: minHeap[finishing]{less: finishingLess}}
}

func (e *engine) prefills() bool { return e.role != policies.RoleDecode }
func (e *engine) decodes() bool  { return e.role != policies.RolePrefill }

// prefillLoad is the router's load measure for prefill: tokens queued or being prefilled.
func (e *engine) prefillLoad() float64 { return e.pqTokens + e.batchTok }

// decodeLoad is the router's load measure for decode: KV tokens reserved or waiting.
func (e *engine) decodeLoad() float64 { return e.reserved + e.waitTok }

// arrivalLoad is the router's cost of sending a new request to this engine, as Dynamo's KV router
// weighs a worker: its prompt-side load (tokens queued or being prefilled) plus its decode load
// (KV tokens reserved or waiting), in tokens rather than blocks, with no prefix-cache credit (the
// world has no prefix cache). Dynamo's router design (docs.nvidia.com/dynamo, "Router Design":
// potential prefill blocks and potential decode blocks per worker; --router-kv-overlap-score-weight
// defaults to 1) adds the two. A prefill engine holds no decode load, so for it this is
// prefillLoad; an aggregated engine is judged by both halves. Routing an aggregated engine by its
// prompt side alone sent nearly every request to the lowest-indexed engine whenever the prompt
// queues were empty (ties), so adding workers barely lowered the ITL of the one that decoded them.
func (e *engine) arrivalLoad() float64 { return e.prefillLoad() + e.decodeLoad() }

// idle reports whether the engine holds no work at all.
func (e *engine) idle() bool {
	return !e.busy && e.pqHead == len(e.pq) && e.wHead == len(e.waiting) && e.active.len() == 0
}

// kvTokens is the KV-cache tokens the running batch holds now (inputs plus generated tokens).
func (e *engine) kvTokens() float64 {
	n := float64(e.active.len())
	return e.sumIn + n*e.iter - e.sumAdmit
}

// advance moves the decode iteration counter to time t at the current batch's ITL.
func (e *engine) advance(t float64) {
	if e.active.len() > 0 && !e.paused && e.itl > 0 {
		e.iter += (t - e.lastT) / e.itl
	}
	e.lastT = t
}

// recomputeITL reads the batch's inter-token latency from the model at its batch size and mean
// context length.
func (e *engine) recomputeITL(m *Model) {
	n := e.active.len()
	if n == 0 {
		e.itl, e.sumIn, e.sumAdmit = 0, 0, 0
		return
	}
	k := e.kvTokens()
	e.itl = m.IterationSeconds(float64(n), k/float64(n))
}

// compactQueues drops consumed queue heads once they dominate, keeping memory bounded.
func (e *engine) compactQueues() {
	if e.pqHead > 1024 && e.pqHead*2 > len(e.pq) {
		e.pq = append(e.pq[:0], e.pq[e.pqHead:]...)
		e.pqHead = 0
	}
	if e.wHead > 1024 && e.wHead*2 > len(e.waiting) {
		e.waiting = append(e.waiting[:0], e.waiting[e.wHead:]...)
		e.wHead = 0
	}
}
