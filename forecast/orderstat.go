package forecast

import (
	"math"
	"slices"
)

// blockSize is the target length of a sortedBlocks block; blocks hold 1..2*blockSize values.
const blockSize = 64

// sortedBlocks is a multiset of float64 kept as an ordered list of short sorted blocks (a
// square-root decomposition), so that insert, delete and the k-th smallest value cost
// O(log n + blockSize + n/blockSize) instead of the O(n) memmove of one sorted slice. NaN is
// not stored (insert ignores it). Blocks are recycled through a free list, so in steady state
// (a sliding window of fixed size) it does not allocate.
type sortedBlocks struct {
	blocks [][]float64 // in order; each sorted, 1..2*blockSize long, capacity 2*blockSize
	firsts []float64   // firsts[j] = blocks[j][0]
	free   [][]float64 // empty blocks to reuse
	n      int
}

// len is the number of values held.
func (s *sortedBlocks) len() int { return s.n }

// find returns the index of the last block whose first value is <= v (0 when none is).
func (s *sortedBlocks) find(v float64) int {
	lo, hi := 0, len(s.firsts) // invariant: firsts[:lo] <= v < firsts[hi:]
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.firsts[m] <= v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return max(lo-1, 0)
}

// lowerBound returns the index of the first value of b that is >= v (len(b) when none is).
func lowerBound(b []float64, v float64) int {
	lo, hi := 0, len(b)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if b[m] < v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// insert adds v (NaN is ignored).
func (s *sortedBlocks) insert(v float64) {
	if v != v {
		return
	}
	s.n++
	if len(s.blocks) == 0 {
		s.blocks = append(s.blocks, append(s.newBlock(), v))
		s.firsts = append(s.firsts, v)
		return
	}
	j := s.find(v)
	b := s.blocks[j]
	i := lowerBound(b, v)
	b = slices.Insert(b, i, v)
	s.blocks[j], s.firsts[j] = b, b[0]
	if len(b) == 2*blockSize {
		s.split(j)
	}
}

// split moves the upper half of block j into a new block after it.
func (s *sortedBlocks) split(j int) {
	b := s.blocks[j]
	nb := append(s.newBlock(), b[blockSize:]...)
	s.blocks[j] = b[:blockSize]
	s.blocks = slices.Insert(s.blocks, j+1, nb)
	s.firsts = slices.Insert(s.firsts, j+1, nb[0])
}

// newBlock returns an empty block with capacity 2*blockSize, reusing a freed one when it can.
func (s *sortedBlocks) newBlock() []float64 {
	if k := len(s.free); k > 0 {
		b := s.free[k-1]
		s.free = s.free[:k-1]
		return b[:0]
	}
	return make([]float64, 0, 2*blockSize)
}

// remove deletes one copy of v and reports whether it was there.
func (s *sortedBlocks) remove(v float64) bool {
	if len(s.blocks) == 0 {
		return false
	}
	j := s.find(v)
	b := s.blocks[j]
	i := lowerBound(b, v)
	if i == len(b) || b[i] != v {
		return false
	}
	s.n--
	b = slices.Delete(b, i, i+1)
	s.blocks[j] = b
	if len(b) == 0 {
		s.drop(j)
		return true
	}
	s.firsts[j] = b[0]
	if len(b) <= blockSize/2 {
		s.merge(j)
	}
	return true
}

// merge joins the short block j with a neighbour when the two fit in one block, so that
// deletions cannot leave many tiny blocks behind (which would make at and find slower).
func (s *sortedBlocks) merge(j int) {
	switch {
	case j+1 < len(s.blocks) && len(s.blocks[j])+len(s.blocks[j+1]) < 2*blockSize:
		s.blocks[j] = append(s.blocks[j], s.blocks[j+1]...)
		s.drop(j + 1)
	case j > 0 && len(s.blocks[j-1])+len(s.blocks[j]) < 2*blockSize:
		s.blocks[j-1] = append(s.blocks[j-1], s.blocks[j]...)
		s.drop(j)
	}
}

// drop removes block j from the list and keeps its storage for reuse.
func (s *sortedBlocks) drop(j int) {
	s.free = append(s.free, s.blocks[j][:0])
	s.blocks = slices.Delete(s.blocks, j, j+1)
	s.firsts = slices.Delete(s.firsts, j, j+1)
}

// at returns the k-th smallest value (0-based); k must be in [0, len).
func (s *sortedBlocks) at(k int) float64 {
	if k < s.n/2 {
		for _, b := range s.blocks {
			if k < len(b) {
				return b[k]
			}
			k -= len(b)
		}
	}
	k = s.n - 1 - k // k-th from the top
	for j := len(s.blocks) - 1; j >= 0; j-- {
		b := s.blocks[j]
		if k < len(b) {
			return b[len(b)-1-k]
		}
		k -= len(b)
	}
	return 0
}

// quantile is the linearly interpolated q-quantile of the values (Hyndman-Fan type 7),
// exactly as quantile computes it on the sorted values.
func (s *sortedBlocks) quantile(q float64) float64 {
	if s.n == 0 {
		return 0
	}
	pos := q * float64(s.n-1)
	i := int(math.Floor(pos))
	if i >= s.n-1 {
		return s.at(s.n - 1)
	}
	if i < 0 {
		return s.at(0)
	}
	f := pos - float64(i)
	lo := s.at(i)
	if math.IsInf(lo, -1) {
		return lo
	}
	return lo + f*(s.at(i+1)-lo)
}

// values appends the values in ascending order to dst.
func (s *sortedBlocks) values(dst []float64) []float64 {
	for _, b := range s.blocks {
		dst = append(dst, b...)
	}
	return dst
}

// clone returns an independent copy (without the free list).
func (s *sortedBlocks) clone() sortedBlocks {
	c := sortedBlocks{blocks: make([][]float64, len(s.blocks)), firsts: slices.Clone(s.firsts), n: s.n}
	for j, b := range s.blocks {
		c.blocks[j] = append(make([]float64, 0, 2*blockSize), b...)
	}
	return c
}
